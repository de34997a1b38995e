import { metrics } from '@tollgate/core/metrics';

/**
 * The service's own counters of decisions and store errors, flattened for the stats
 * message: `decisions.debited`, `storeErrors.debit.timeout`, …
 */
export const decisionCounts = async (): Promise<Record<string, number>> => {
  const out: Record<string, number> = {};
  for (const v of (await metrics.creditDecisions.get()).values) out[`decisions.${String(v.labels.decision)}`] = v.value;
  for (const v of (await metrics.storeErrors.get()).values) {
    out[`storeErrors.${String(v.labels.operation)}.${String(v.labels.reason)}`] = v.value;
  }
  return out;
};
