import type { ClickHouseClient } from '@clickhouse/client';
import {
  activeSubjectsSql,
  epochMinute,
  metrics,
  reconcileSubjects,
  type CreditStore,
  type Env,
  type EnvName,
  type Logger,
  type ReconcileSummary,
} from '@tollgate/core';

const CLOCK_SKEW_MS = 60_000;

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
  now?: () => number;
  logger?: Logger | undefined;
}

/** The variables of the sync worker's schedule: read by its own process and by `npm start`. */
export const SYNC_ENV = ['SYNC_INTERVAL_MS', 'SYNC_SETTLE_LAG_MS', 'SYNC_BATCH_SIZE', 'SYNC_FULL_SWEEP_MS'] as const satisfies readonly EnvName[];

/** The options those variables set. */
export const syncScheduleFromEnv = (env: Env<(typeof SYNC_ENV)[number]>) => ({
  intervalMs: env.SYNC_INTERVAL_MS,
  settleLagMs: env.SYNC_SETTLE_LAG_MS,
  batchSize: env.SYNC_BATCH_SIZE,
  fullSweepMs: env.SYNC_FULL_SWEEP_MS,
});

export interface SyncRun extends ReconcileSummary {
  kind: 'incremental' | 'full';
  watermarkMinute: number;
}

/**
 * The reconciliation loop. Each run picks W = the minute of (now - settle lag) and
 * reconciles, as of W, the subjects whose events or grants arrived since the previous run
 * started (minus the lag and a clock-skew margin) — or every subject, on the first run and
 * every full-sweep period.
 * Runs never overlap in one worker; across workers, the store applies a subject's watermark
 * only forward and assigns the balance absolutely, so replicas never double-apply.
 */
export class SyncWorker {
  readonly #o: Required<Omit<SyncWorkerOptions, 'logger'>> & { logger: Logger | undefined };
  /** When the previous successful run started: the incremental run looks at what arrived since. */
  #lastRunStartMs: number | undefined;
  #lastFullSweepMs = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = true;
  /** The last run that completed, for readiness and tests. */
  lastRun: SyncRun | undefined;
  lastError: unknown;
  completedRuns = 0;

  constructor({
    clickhouse,
    store,
    intervalMs = 10_000,
    settleLagMs = 120_000,
    batchSize = 1_000,
    fullSweepMs = 3_600_000,
    now = Date.now,
    logger,
  }: SyncWorkerOptions) {
    this.#o = { clickhouse, store, intervalMs, settleLagMs, batchSize, fullSweepMs, now, logger };
  }

  /** One run; `full` forces a full sweep, `watermarkMinute` overrides now - lag. */
  async runOnce({ full = false, watermarkMinute }: { full?: boolean; watermarkMinute?: number } = {}): Promise<SyncRun> {
    const now = this.#o.now();
    const w = watermarkMinute ?? epochMinute(now - this.#o.settleLagMs);
    const kind = full || this.#lastRunStartMs === undefined || now - this.#lastFullSweepMs >= this.#o.fullSweepMs ? 'full' : 'incremental';
    const end = metrics.reconcileDuration.startTimer({ kind });
    let outcome = 'error';
    try {
      // What arrived since the previous run started, with a margin for clock skew between this
      // worker and ClickHouse (ingested_at is ClickHouse's clock) and for the settle lag.
      const since = kind === 'full' || this.#lastRunStartMs === undefined ? undefined : this.#lastRunStartMs - this.#o.settleLagMs - CLOCK_SKEW_MS;
      const { query, params } = activeSubjectsSql(since);
      const subjects = (await (await this.#o.clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<{ subject: string }>()).map(
        (r) => r.subject,
      );
      const summary = await reconcileSubjects({
        clickhouse: this.#o.clickhouse,
        store: this.#o.store,
        subjects,
        watermarkMinute: w,
        batchSize: this.#o.batchSize,
        now: this.#o.now,
        logger: this.#o.logger,
      });
      if (kind === 'full') this.#lastFullSweepMs = now;
      this.#lastRunStartMs = now;
      this.lastRun = { kind, watermarkMinute: w, ...summary };
      this.lastError = undefined;
      this.completedRuns += 1;
      outcome = 'ok';
      this.#o.logger?.info('reconciled', {
        kind,
        watermark: new Date(w * 60_000).toISOString(),
        subjects: summary.subjects,
        stale: summary.stale,
        adjustments: summary.adjustments.length,
        clickhouseMs: Math.round(summary.clickhouseMs),
        storeMs: Math.round(summary.storeMs),
      });
      return this.lastRun;
    } catch (err) {
      this.lastError = err;
      throw err;
    } finally {
      metrics.reconcileRuns.inc({ kind, outcome });
      end({ outcome });
    }
  }

  /** Runs now, then `intervalMs` after each run ends; a failed run is logged and the loop goes on. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const tick = () => {
      this.#running = this.runOnce()
        .catch((err: unknown) => this.#o.logger?.error('reconciliation failed', { error: err instanceof Error ? err.message : String(err) }))
        .finally(() => {
          this.#running = undefined;
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#o.intervalMs);
        });
    };
    tick();
  }

  /** Stops the loop and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
