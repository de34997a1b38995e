/** Why a balance moved at reconciliation, when the evidence says. */
export type DriftCause = 'unverified' | 'missing_events' | 'events_without_debit' | 'unknown';

export interface DriftEvidence {
  /** after - before. */
  drift: number;
  /** Real-time debits settled by this run (the dropped buckets). */
  debited: number;
  /** Metered cost in the settled windows [previous watermark, W). */
  metered: number;
  /** Of it, calls let through while the store was unreachable (`unverified`). */
  unverified: number;
}

/**
 * The balance went down: usage was metered that was not debited in real time — unverified
 * calls (fail-open) when there are any in the settled windows, otherwise events without a
 * debit (ingested usage, a debit lost in a failover). It went up: debits whose events
 * never arrived, when the settled windows metered less than was debited. Anything else
 * (a wiped store, a grant applied twice by a racing top-up) is `unknown`.
 */
export const driftCause = ({ drift, debited, metered, unverified }: DriftEvidence): DriftCause => {
  if (drift < 0 && unverified > 0) return 'unverified';
  if (drift < 0 && metered > debited) return 'events_without_debit';
  if (drift > 0 && debited > metered) return 'missing_events';
  return 'unknown';
};
