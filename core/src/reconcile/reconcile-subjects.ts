import type { ClickHouseClient } from '@clickhouse/client';
import { storeEpoch, type CreditStore } from '../credits/credit-store.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics/metrics.ts';
import { explainChanges, writeChanges, type Adjustment, type RestoreRunFacts } from './ledger-entries.ts';
import { readBatchInputs } from './reconcile-inputs.ts';
import { ENV } from '../config/env.ts';

export type { Adjustment, RestoreRunFacts } from './ledger-entries.ts';

export interface ReconcileOptions {
  clickhouse: ClickHouseClient;
  store: CreditStore;
  subjects: readonly string[];
  /** Epoch minute: windows before it are settled. */
  watermarkMinute: number;
  /** Subjects per ClickHouse query and per round of store calls. */
  batchSize?: number;
  /** Grants created this recently are marked applied as they are counted (a top-up may still be applying them). */
  inFlightGrantsMs?: number;
  /** A restore run (the store lost its state): subjects the store lost are restored, each a 'restore' change. */
  restore?: RestoreRunFacts | undefined;
  now?: () => number;
  logger?: Logger | undefined;
}

export interface ReconcileSummary {
  subjects: number;
  applied: number;
  /** Subjects where a newer watermark was applied already (another worker is ahead). */
  stale: number;
  /** Subjects left as they were: their target (Σ grants − Σ metered) is not a safe integer. */
  outOfRange: string[];
  /** Subjects left alone because the store lost them and this is no restore. */
  notRestored: number;
  adjustments: Adjustment[];
  clickhouseMs: number;
  storeMs: number;
}

/** The store lost its state after this run changed it: what the run would write is the restore's to account for. */
export class StoreLostDuringRunError extends Error {
  constructor() {
    super('the credit store lost its state during the reconciliation run; the restore accounts for what the run changed');
    this.name = 'StoreLostDuringRunError';
  }
}

/**
 * Reconciles subjects in batches; per batch:
 * 1. ClickHouse, one round: Σ grants and Σ metered cost before W per subject, metered cost per
 *    minute at or after W, the recent grants (marked applied by the store as it counts them),
 *    and in a restore each subject's ledger totals (adjustments, settled debits). A subject
 *    whose target a double cannot hold exactly is left as it is (out of range).
 * 2. Per subject, one atomic store call (reconcile.lua); the calls of a batch go out together.
 * 3. Every change the store holds as pending (this run's, and any whose write failed before) →
 *    its settled debits and ledger entries, under the change's own id; then the store forgets
 *    it. Should the store have lost its state since the run began, nothing is written: the
 *    restore that follows accounts for the lost state, and a write now would count twice.
 * A failure stops the run; every step is safe to run again.
 */
export const reconcileSubjects = async ({
  clickhouse,
  store,
  subjects,
  watermarkMinute,
  batchSize = ENV.SYNC_BATCH_SIZE.fallback,
  inFlightGrantsMs = 86_400_000,
  restore,
  now = Date.now,
  logger,
}: ReconcileOptions): Promise<ReconcileSummary> => {
  const summary: ReconcileSummary = { subjects: subjects.length, applied: 0, stale: 0, outOfRange: [], notRestored: 0, adjustments: [], clickhouseMs: 0, storeMs: 0 };
  const epoch = storeEpoch(await store.restoreStatus());
  for (let i = 0; i < subjects.length; i += batchSize) {
    const batch = subjects.slice(i, i + batchSize);
    let started = performance.now();
    const inputs = await readBatchInputs(clickhouse, batch, watermarkMinute, now() - inFlightGrantsMs, restore !== undefined);
    summary.clickhouseMs += performance.now() - started;
    for (const { subject, granted, metered } of inputs.outOfRange) {
      summary.outOfRange.push(subject);
      metrics.reconcileSubjects.inc({ result: 'out_of_range' });
      logger?.error('reconciliation target out of range; the balance is left as it is', { subject, granted, metered });
    }
    const reconcilable = inputs.outOfRange.length === 0 ? batch : batch.filter((s) => !summary.outOfRange.includes(s));

    started = performance.now();
    const results = await Promise.all(
      reconcilable.map(async (s) => {
        const ledgerBase = inputs.ledgerBase.get(s);
        const request = {
          target: inputs.target.get(s) ?? 0,
          watermarkMinute,
          meteredFrom: inputs.meteredFrom.get(s),
          counted: inputs.counted.get(s),
          restore: restore && ledgerBase !== undefined ? { ledgerBase } : undefined,
        };
        return [s, await store.reconcile(s, request)] as const;
      }),
    );
    summary.storeMs += performance.now() - started;

    for (const [, r] of results) {
      metrics.reconcileSubjects.inc({ result: r.status });
      if (r.status === 'stale') summary.stale += 1;
      else if (r.status === 'not-restored') summary.notRestored += 1;
      else summary.applied += 1;
    }
    const pending = results.flatMap(([subject, r]) => r.pending.map((change) => ({ subject, change })));
    if (pending.length === 0) continue;
    started = performance.now();
    if (storeEpoch(await store.restoreStatus()) !== epoch) throw new StoreLostDuringRunError();
    const adjustments = await explainChanges(clickhouse, pending, restore);
    await writeChanges(clickhouse, pending, adjustments);
    summary.clickhouseMs += performance.now() - started;
    started = performance.now();
    const confirmed = new Map<string, string[]>();
    for (const { subject, change } of pending) confirmed.set(subject, [...(confirmed.get(subject) ?? []), change.changeId]);
    await Promise.all([...confirmed].map(([subject, ids]) => store.confirmChanges(subject, ids)));
    summary.storeMs += performance.now() - started;
    for (const a of adjustments) {
      metrics.reconcileDrift.inc({ cause: a.cause }, Math.abs(a.amount));
      logger?.info('drift', { subject: a.subject, amount: a.amount, cause: a.cause, ...a.details });
    }
    summary.adjustments.push(...adjustments);
  }
  return summary;
};
