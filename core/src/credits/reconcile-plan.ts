import type { PendingChange, ReconcileRequest, ReconcileResult } from './credit-store.ts';

/** A subject's state as a reconcile step reads it. */
export interface ReconcileState {
  balance: number;
  buckets: ReadonlyMap<number, number>;
  metered: ReadonlyMap<number, number>;
  watermark: number | undefined;
  /** The store holds restored state (its marker). */
  restored: boolean;
}

export interface ReconcilePlan {
  status: ReconcileResult['status'];
  result: Omit<ReconcileResult, 'pending'>;
  /** Charged-from-metering minutes before the watermark, to drop. */
  droppedMetered: number[];
  /** Per minute at or after the watermark, what to add to its charge from metering. */
  raise: Map<number, number>;
  /** The change to keep pending, if any. */
  change: PendingChange | undefined;
}

const MAX_CREDITS = Number.MAX_SAFE_INTEGER;
const sum = (values: Iterable<number>) => {
  let total = 0;
  for (const v of values) total += v;
  return total;
};

/**
 * The memory store's reconcile step, computed before anything is written: the same rules as
 * reconcile.lua (read there why each holds). Throws a RangeError, changing nothing, when the
 * new balance would leave the safe integers.
 */
export const planReconcile = (state: ReconcileState, request: ReconcileRequest, changeId: string): ReconcilePlan => {
  const w = request.watermarkMinute;
  const { balance: before, buckets, metered, watermark: previous } = state;
  const lost = previous === undefined && !state.restored;
  const realtimeAtOrAfter = sum([...buckets].filter(([m]) => m >= w).map(([, c]) => c));
  const result: ReconcilePlan['result'] = {
    status: 'stale',
    applied: false,
    before,
    after: before,
    drift: 0,
    realtimeAtOrAfter,
    raised: 0,
    previousWatermark: previous,
    droppedBuckets: new Map(),
  };
  const unchanged = (status: ReconcileResult['status']): ReconcilePlan => ({ status, result: { ...result, status }, droppedMetered: [], raise: new Map(), change: undefined });
  if (lost && !request.restore) return unchanged('not-restored');
  if (previous !== undefined && w < previous) return unchanged('stale');

  const raise = new Map<number, number>();
  for (const [minute, cost] of request.meteredFrom ?? []) {
    if (minute < w) continue;
    const charged = (buckets.get(minute) ?? 0) + (metered.get(minute) ?? 0);
    if (cost > charged) raise.set(minute, cost - charged);
  }
  const raised = sum(raise.values());
  const kept = realtimeAtOrAfter + sum([...metered].filter(([m]) => m >= w).map(([, c]) => c)) + raised;
  const after = request.target - kept;
  if (!Number.isSafeInteger(after) || Math.abs(after) > MAX_CREDITS) {
    throw new RangeError(`the reconciled balance must be a safe integer (at most ±${MAX_CREDITS}), got ${after}`);
  }
  const droppedBuckets = new Map([...buckets].filter(([m]) => m < w));
  const droppedMetered = [...metered.keys()].filter((m) => m < w);
  const debited = sum(droppedBuckets.values());
  const settledFromMetering = sum(droppedMetered.map((m) => metered.get(m) ?? 0));
  const restoring = lost && request.restore !== undefined;
  const implied = restoring && request.restore ? request.restore.ledgerBase - sum(buckets.values()) : undefined;
  const changed = restoring || after !== before || droppedBuckets.size > 0 || settledFromMetering !== 0 || raised > 0;
  return {
    status: 'applied',
    result: { ...result, status: 'applied', applied: true, after, drift: after - before, raised, droppedBuckets },
    droppedMetered,
    raise,
    change: changed
      ? {
          changeId,
          kind: restoring ? 'restore' : 'sync',
          watermarkMinute: w,
          previousWatermarkMinute: previous,
          before,
          after,
          debited,
          settled: new Map(droppedBuckets),
          settledFromMetering,
          raised: new Map(raise),
          implied,
        }
      : undefined,
  };
};
