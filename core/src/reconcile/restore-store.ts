import type { ClickHouseClient } from '@clickhouse/client';
import type { CreditStore } from '../credits/credit-store.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics/metrics.ts';
import { queryRows as rows } from '../clickhouse/sql-query.ts';
import { activeSubjectsSql } from './reconcile-sql.ts';
import { reconcileSubjects, type ReconcileSummary } from './reconcile-subjects.ts';

export interface RestoreOptions {
  clickhouse: ClickHouseClient;
  store: CreditStore;
  /** The watermark of the restore, given when ClickHouse is read (after the catch-up). */
  watermarkMinute: () => number;
  /** When the loss was noticed. */
  detectedAtMs: number;
  /**
   * Waits for the metering path to store what was produced before the loss; true when it
   * did, false when the wait ran out. Without it, ClickHouse is read at once.
   */
  awaitCaughtUp?: ((restoreToken: string) => Promise<boolean>) | undefined;
  batchSize?: number;
  now?: () => number;
  logger?: Logger | undefined;
}

export interface RestoreSummary extends ReconcileSummary {
  watermarkMinute: number;
  caughtUp: boolean;
  /** The store was marked restored; false when it was wiped again during the restore. */
  restored: boolean;
}

/**
 * Restores a store that lost its state, from the truth in ClickHouse:
 * 1. Take the restore token (or join the restore under way): the marker is written at the end
 *    only if the store was not wiped again meanwhile.
 * 2. Wait for the metering path, so the events of calls answered before the loss are stored
 *    (with Kafka: the producers acknowledge the token, restore-acks.ts).
 * 3. Reconcile every subject with usage or grants as a restore: each subject the store lost is
 *    decided again as soon as its own step is done, charged at least what ClickHouse holds for
 *    the minutes at or after the watermark, and its ledger gets a `restore` entry.
 * 4. Mark the store restored: subjects without usage or grants are decided from it again.
 * Safe to run again and concurrently: a subject already restored is reconciled as a sync.
 */
export const restoreStore = async ({
  clickhouse,
  store,
  watermarkMinute,
  detectedAtMs,
  awaitCaughtUp,
  batchSize,
  now,
  logger,
}: RestoreOptions): Promise<RestoreSummary> => {
  const token = await store.beginRestore();
  const caughtUp = awaitCaughtUp ? await awaitCaughtUp(token) : true;
  const w = watermarkMinute();
  const subjects = (await rows<{ subject: string }>(clickhouse, activeSubjectsSql())).map((r) => r.subject);
  const summary = await reconcileSubjects({ clickhouse, store, subjects, watermarkMinute: w, batchSize, restore: { detectedAtMs, caughtUp }, now, logger });
  const restored = (await store.completeRestore(token)) || (await store.restoreStatus()).restoredBy === token;
  metrics.reconcileRestores.inc({ outcome: restored ? 'restored' : 'superseded', caught_up: String(caughtUp) });
  return { ...summary, watermarkMinute: w, caughtUp, restored };
};
