/** The real-time credit engine. Every method is one atomic step in the store. */
export interface DebitResult {
  allowed: boolean;
  /** Balance after the call (unchanged when denied). */
  balance: number;
}

export interface RefundResult {
  /** False when this request id was refunded before (refunds are idempotent). */
  refunded: boolean;
  balance: number;
}

export type GrantClaim = 'new' | 'same' | 'conflict';

export interface ApplyGrantResult {
  /**
   * 'applied' now, 'already' applied by an earlier request, 'conflict' (key holds another body),
   * or 'overflow': the balance would pass MAX_CREDITS, so nothing was applied.
   */
  status: 'applied' | 'already' | 'conflict' | 'overflow';
  balance: number;
}

export interface ReconcileResult {
  /** False when a newer watermark was applied already: nothing changed (another worker is ahead). */
  applied: boolean;
  before: number;
  after: number;
  /** after - before: what the real-time balance missed (0 when not applied). */
  drift: number;
  /** Real-time debits at or after the watermark, kept and subtracted from the target. */
  realtimeAtOrAfter: number;
  /** The watermark applied before this call, or undefined for none. */
  previousWatermark: number | undefined;
  /** Real-time buckets before the watermark, now settled and dropped (epoch minute -> cost). */
  droppedBuckets: Map<number, number>;
  /**
   * Every balance change of this subject that the ledger has not confirmed (confirmChanges):
   * this call's, when it changed the balance, and any an earlier run made but never wrote.
   */
  pending: PendingChange[];
}

/**
 * A balance change made by reconciliation, kept by the store in the same atomic step, until
 * the ledger confirms it has the entry: a ledger write that fails after the balance changed
 * is then written by the next run instead of being lost.
 */
export interface PendingChange {
  changeId: string;
  watermarkMinute: number;
  previousWatermarkMinute: number | undefined;
  before: number;
  after: number;
  /** Real-time debits the change settled (its dropped buckets). */
  debited: number;
}

/** A durable grant that a reconciliation target counts. */
export interface CountedGrant {
  key: string;
  bodyHash: string;
}

export interface CreditStore {
  readonly kind: 'valkey' | 'memory';
  /**
   * If balance >= cost, subtract it and add it to the subject's bucket for `minute`; otherwise
   * change nothing. With `budgetMs`, a store that has not answered within that many
   * milliseconds rejects with BudgetExceededError, after polling pending I/O once (an answer
   * already in the socket is taken). The in-process store always answers at once.
   */
  debit(subject: string, cost: number, minute: number, budgetMs?: number): Promise<DebitResult>;
  /** Give back a debit once per requestId, in the debit's own minute bucket. */
  refund(subject: string, cost: number, minute: number, requestId: string): Promise<RefundResult>;
  /** Reserve an idempotency key for one body hash; applies nothing. */
  claimGrant(subject: string, key: string, bodyHash: string): Promise<GrantClaim>;
  /** Add a durable grant to the balance, once per key; never beyond MAX_CREDITS. */
  applyGrant(subject: string, key: string, bodyHash: string, amount: number): Promise<ApplyGrantResult>;
  balance(subject: string): Promise<number>;
  /**
   * One atomic step: balance = target - real-time debits at or after `watermarkMinute`, where
   * target = grants - metered cost before it; buckets before it are dropped. A watermark older
   * than the one applied changes nothing; the same one again is idempotent. `counted`: the
   * recent grants in the target, marked applied so a top-up in flight does not add them again.
   * A change of the balance is kept as pending under `changeId` (a new id by default).
   * Rejects with a RangeError, changing nothing, when the target or the new balance is not a
   * safe integer (safe-credits.ts).
   */
  reconcile(subject: string, target: number, watermarkMinute: number, counted?: readonly CountedGrant[], changeId?: string): Promise<ReconcileResult>;
  /** Forgets pending changes whose ledger entries are written. */
  confirmChanges(subject: string, changeIds: readonly string[]): Promise<void>;
  /** Real-time debits per epoch minute not yet reconciled. */
  realtimeBuckets(subject: string): Promise<Map<number, number>>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const epochMinute = (ms: number): number => Math.floor(ms / 60_000);
