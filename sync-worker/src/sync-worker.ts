import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '@tollgate/core';
import { ENV } from '@tollgate/core/config';
import { metrics } from '@tollgate/core/metrics';
import { epochMinute, type CreditStore } from '@tollgate/core/credits';
import { queryRows } from '@tollgate/core/clickhouse';
import { activeSubjectsSql, reconcileSubjects, restoreStore, type ReconcileSummary } from '@tollgate/core/ledger';

const CLOCK_SKEW_MS = 60_000;
/** A failed restore is tried again this soon, not at every poll. */
const RESTORE_RETRY_MS = 1_000;
const CATCH_UP_RETRY_MS = 500;

/**
 * Resolves once the metering path has stored every event produced before `asOfMs` (in the split
 * deployment: the sink group's committed offsets reach the topic's end offsets taken once the
 * producers' linger after `asOfMs` has passed). `signal` aborts the wait.
 */
/** `restoreToken`: the restore that waits, for the producers' acknowledgements. */
export type AwaitMeteringCaughtUp = (asOfMs: number, signal: AbortSignal, restoreToken?: string) => Promise<void>;

export interface SyncWorkerOptions {
  clickhouse: ClickHouseClient;
  store: CreditStore;
  /** Between the end of one run and the start of the next. */
  intervalMs?: number;
  /** The watermark stays this far behind now: producer linger plus sink flush. */
  settleLagMs?: number;
  batchSize?: number;
  /** How often a run reconciles every subject instead of those with recent activity. */
  fullSweepMs?: number;
  /** How often the worker checks, between runs, that the store still holds restored state. */
  restorePollMs?: number;
  /**
   * Before a restore reads ClickHouse: wait for the events produced before the loss. Without it
   * the restore reads at once (`npm start` stores its local event log before the worker starts).
   */
  awaitMeteringCaughtUp?: AwaitMeteringCaughtUp | undefined;
  /** Longest a restore waits for the metering path; then it restores from what is stored, and says so. */
  restoreCatchUpTimeoutMs?: number;
  now?: () => number;
  logger?: Logger | undefined;
}

export interface SyncRun extends ReconcileSummary {
  kind: 'incremental' | 'full' | 'restore';
  watermarkMinute: number;
  /** A restore: whether the metering path had caught up when it read ClickHouse. */
  caughtUp?: boolean;
}

type Options = Required<Omit<SyncWorkerOptions, 'logger' | 'awaitMeteringCaughtUp'>> & Pick<SyncWorkerOptions, 'logger' | 'awaitMeteringCaughtUp'>;

/**
 * The reconciliation loop. Each run picks W = the minute of (now - settle lag) and
 * reconciles, as of W, the subjects whose events or grants arrived since the previous run
 * started (minus the lag and a clock-skew margin) — or every subject, on the first run and
 * every full-sweep period.
 * A store that lost its state (no restored marker) is restored instead: every subject, after
 * the metering path caught up, and then marked restored. Between runs the worker checks the
 * marker every `restorePollMs`, so a wipe is restored within about that, not a whole interval.
 * Runs never overlap in one worker; across workers, the store applies a subject's watermark
 * only forward and assigns the balance absolutely, so replicas never double-apply.
 */
export class SyncWorker {
  readonly #options: Options;
  /** When the previous successful run started: the incremental run looks at what arrived since. */
  #lastRunStartMs: number | undefined;
  #lastFullSweepMs = -Infinity;
  #lastFailureMs = -Infinity;
  /** This worker has seen the store restored: a missing marker afterwards is a loss, worth a warning. */
  #sawRestored = false;
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = true;
  /** The last run that completed, for readiness and tests. */
  lastRun: SyncRun | undefined;
  lastError: unknown;
  completedRuns = 0;

  constructor({
    clickhouse,
    store,
    intervalMs = ENV.SYNC_INTERVAL_MS.fallback,
    settleLagMs = ENV.SYNC_SETTLE_LAG_MS.fallback,
    batchSize = ENV.SYNC_BATCH_SIZE.fallback,
    fullSweepMs = ENV.SYNC_FULL_SWEEP_MS.fallback,
    restorePollMs = ENV.SYNC_RESTORE_POLL_MS.fallback,
    awaitMeteringCaughtUp,
    restoreCatchUpTimeoutMs = ENV.SYNC_RESTORE_CATCHUP_TIMEOUT_MS.fallback,
    now = Date.now,
    logger,
  }: SyncWorkerOptions) {
    this.#options = { clickhouse, store, intervalMs, settleLagMs, batchSize, fullSweepMs, restorePollMs, awaitMeteringCaughtUp, restoreCatchUpTimeoutMs, now, logger };
  }

  /** One run (a restore if the store lost its state); `full` forces a full sweep, `watermarkMinute` overrides now - lag. */
  async runOnce({ full = false, watermarkMinute }: { full?: boolean; watermarkMinute?: number } = {}): Promise<SyncRun> {
    if (!(await this.#options.store.restoreStatus()).restored) return this.#restore(watermarkMinute);
    this.#sawRestored = true;
    const now = this.#options.now();
    const kind = full || this.#lastRunStartMs === undefined || now - this.#lastFullSweepMs >= this.#options.fullSweepMs ? 'full' : 'incremental';
    // What arrived since the previous run started, with a margin for clock skew between this
    // worker and ClickHouse (ingested_at is ClickHouse's clock) and for the settle lag.
    const since = kind === 'full' || this.#lastRunStartMs === undefined ? undefined : this.#lastRunStartMs - this.#options.settleLagMs - CLOCK_SKEW_MS;
    return this.#run(kind, now, watermarkMinute ?? epochMinute(now - this.#options.settleLagMs), since);
  }

  /** The store lost its state: restore it (restoreStore), as one run of this worker. */
  async #restore(watermarkMinute: number | undefined): Promise<SyncRun> {
    const detectedAtMs = this.#options.now();
    // A store found without its marker at start (a memory store, a new Valkey) is restored as a
    // matter of course; one that loses it while this worker runs was wiped.
    const fields = { detectedAt: new Date(detectedAtMs).toISOString() };
    if (this.#sawRestored) this.#options.logger?.warn('the credit store lost its state: restoring', fields);
    else this.#options.logger?.info('the credit store holds no restored state yet: restoring', fields);
    const end = metrics.reconcileDuration.startTimer({ kind: 'restore' });
    let outcome = 'error';
    try {
      const summary = await restoreStore({
        clickhouse: this.#options.clickhouse,
        store: this.#options.store,
        watermarkMinute: () => watermarkMinute ?? epochMinute(this.#options.now() - this.#options.settleLagMs),
        detectedAtMs,
        awaitCaughtUp: this.#options.awaitMeteringCaughtUp ? (token) => this.#catchUp(detectedAtMs, token) : undefined,
        batchSize: this.#options.batchSize,
        now: this.#options.now,
        logger: this.#options.logger,
      });
      if (!summary.restored) throw new Error('the credit store lost its state again during the restore; it is restored again');
      const { restored: _restored, ...run } = summary;
      this.#completed({ kind: 'restore', ...run }, detectedAtMs);
      this.#sawRestored = true;
      outcome = 'ok';
      this.#options.logger?.info('credit store restored', { subjects: run.subjects, caughtUp: run.caughtUp, adjustments: run.adjustments.length });
      return { kind: 'restore', ...run };
    } catch (err) {
      this.#failed(err);
      throw err;
    } finally {
      metrics.reconcileRuns.inc({ kind: 'restore', outcome });
      end({ outcome });
    }
  }

  /** True once the metering path caught up; false when the wait ran out (the restore goes on). */
  async #catchUp(asOfMs: number, restoreToken: string): Promise<boolean> {
    const wait = this.#options.awaitMeteringCaughtUp;
    if (!wait) return true;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#options.restoreCatchUpTimeoutMs);
    try {
      while (!abort.signal.aborted) {
        try {
          await wait(asOfMs, abort.signal, restoreToken);
          if (!abort.signal.aborted) return true;
        } catch (err) {
          if (abort.signal.aborted) break;
          this.#options.logger?.warn('waiting for the metering path failed; trying again', { error: err instanceof Error ? err.message : String(err) });
          await new Promise((resolve) => setTimeout(resolve, CATCH_UP_RETRY_MS));
        }
      }
      this.#options.logger?.error('the metering path did not catch up in time: restoring from what ClickHouse holds', { timeoutMs: this.#options.restoreCatchUpTimeoutMs });
      return false;
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }

  async #run(kind: 'incremental' | 'full', now: number, w: number, since: number | undefined): Promise<SyncRun> {
    const end = metrics.reconcileDuration.startTimer({ kind });
    let outcome = 'error';
    try {
      const subjects = (await queryRows<{ subject: string }>(this.#options.clickhouse, activeSubjectsSql(since))).map((r) => r.subject);
      const summary = await reconcileSubjects({
        clickhouse: this.#options.clickhouse,
        store: this.#options.store,
        subjects,
        watermarkMinute: w,
        batchSize: this.#options.batchSize,
        now: this.#options.now,
        logger: this.#options.logger,
      });
      const run: SyncRun = { kind, watermarkMinute: w, ...summary };
      this.#completed(run, now);
      outcome = 'ok';
      this.#options.logger?.info('reconciled', {
        kind,
        watermark: new Date(w * 60_000).toISOString(),
        subjects: summary.subjects,
        stale: summary.stale,
        notRestored: summary.notRestored,
        adjustments: summary.adjustments.length,
        clickhouseMs: Math.round(summary.clickhouseMs),
        storeMs: Math.round(summary.storeMs),
      });
      return run;
    } catch (err) {
      this.#failed(err);
      throw err;
    } finally {
      metrics.reconcileRuns.inc({ kind, outcome });
      end({ outcome });
    }
  }

  #completed(run: SyncRun, startedMs: number): void {
    if (run.kind !== 'incremental') this.#lastFullSweepMs = startedMs;
    this.#lastRunStartMs = startedMs;
    this.lastRun = run;
    this.lastError = undefined;
    this.completedRuns += 1;
  }

  #failed(err: unknown): void {
    this.lastError = err;
    this.#lastFailureMs = performance.now();
  }

  /** Runs now, then `intervalMs` after each run ends; a failed run is logged and the loop goes on. Checks the restored marker between runs. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick();
    this.#poll = setInterval(() => void this.#checkRestored(), this.#options.restorePollMs);
  }

  #tick(): void {
    clearTimeout(this.#timer);
    this.#running = this.runOnce()
      .catch((err: unknown) => this.#options.logger?.error('reconciliation failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), this.#options.intervalMs);
      });
  }

  /** Between runs: a store without its restored marker is restored now, not at the next interval. */
  async #checkRestored(): Promise<void> {
    if (this.#running || this.#stopped || performance.now() - this.#lastFailureMs < RESTORE_RETRY_MS) return;
    const status = await this.#options.store.restoreStatus().catch(() => undefined);
    if (status && !status.restored && !this.#running && !this.#stopped) this.#tick();
  }

  /** Resolves true once the store holds restored state (a restore of this or another worker), false after `timeoutMs`. */
  async untilRestored(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if ((await this.#options.store.restoreStatus().catch(() => undefined))?.restored) return true;
      if (performance.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.#options.restorePollMs, 50)));
    }
  }

  /** Stops the loop and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    await this.#running;
  }
}
