/** Why reconciliation moved a balance, when the evidence says. */
export type DriftCause = 'unverified' | 'missing_events' | 'events_without_debit' | 'events_after_restore' | 'restore' | 'unknown';

export interface DriftEvidence {
  /** The entry's amount: what it moved the balance by. */
  drift: number;
  /** What was charged for the settled windows before: real-time debits, and earlier charges from metering. */
  debited: number;
  /** Metered cost in the settled windows [previous watermark, W). */
  metered: number;
  /** Of it, calls let through while the store was unreachable (`unverified`). */
  unverified: number;
  /** The windows hold minutes from before the subject's latest restore. */
  beforeRestore?: boolean | undefined;
}

/**
 * A settlement. The balance went down: usage was metered that was not debited in real time —
 * unverified calls (fail-open) when there are any in the settled windows; otherwise, for minutes
 * from before a restore, events that reached ClickHouse after it (their debits were lost with
 * the store); otherwise events without a debit (ingested usage, a debit lost in a failover).
 * It went up: debits whose events never arrived, when the settled windows metered less than
 * was debited. Anything else (a grant applied twice by a racing top-up, late events for
 * windows settled before) is `unknown`.
 */
export const driftCause = ({ drift, debited, metered, unverified, beforeRestore = false }: DriftEvidence): DriftCause => {
  if (drift < 0 && unverified > 0) return 'unverified';
  if (drift < 0 && metered > debited) return beforeRestore ? 'events_after_restore' : 'events_without_debit';
  if (drift > 0 && debited > metered) return 'missing_events';
  return 'unknown';
};

/**
 * A charge from metering (minutes at or after the watermark metered beyond their debits):
 * unverified calls if the minutes hold any; else, for minutes from before a restore, events
 * that arrived after it; else events without a debit.
 */
export const chargeCause = ({ unverified, beforeRestore }: { unverified: number; beforeRestore: boolean }): DriftCause =>
  unverified > 0 ? 'unverified' : beforeRestore ? 'events_after_restore' : 'events_without_debit';
