import type { ClickHouseClient } from '@clickhouse/client';
import type { ReplayReconciled } from './replay.ts';
import type { Logger } from '@tollgate/core';
import { epochMinute, type CreditStore } from '@tollgate/core/credits';
import { reconcileSubjects } from '@tollgate/core/ledger';

/**
 * The reconcile step of a replay: the subjects it saw, as of the sync worker's watermark
 * (now − settle lag), never behind the watermark the worker last applied (same lag, same clock):
 * the store assigns each balance again from the restored usage. Should a worker be ahead (clock
 * skew, another lag), the store changes nothing (`stale`) and the worker's next full sweep does it.
 */
export const reconcileReplayed =
  ({ clickhouse, store, settleLagMs, batchSize, now = Date.now, logger }: {
    clickhouse: ClickHouseClient;
    store: CreditStore;
    settleLagMs: number;
    batchSize?: number;
    now?: () => number;
    logger?: Logger | undefined;
  }) =>
  async (subjects: string[]): Promise<ReplayReconciled> => {
    const summary = await reconcileSubjects({ clickhouse, store, subjects, watermarkMinute: epochMinute(now() - settleLagMs), batchSize, logger });
    return { subjects: summary.subjects, applied: summary.applied, stale: summary.stale, adjustments: summary.adjustments.length };
  };
