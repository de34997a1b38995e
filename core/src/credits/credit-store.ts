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

/** What a reconcile call did: changed the store, found a newer watermark, or left an unrestored subject alone. */
export type ReconcileStatus = 'applied' | 'stale' | 'not-restored';

export interface ReconcileResult {
  status: ReconcileStatus;
  /** status === 'applied'. */
  applied: boolean;
  before: number;
  after: number;
  /** after - before: what the real-time balance missed (0 when not applied). */
  drift: number;
  /** Real-time debits at or after the watermark, kept and subtracted from the target. */
  realtimeAtOrAfter: number;
  /** Credits charged from metering now: metered cost beyond what the minutes at or after the watermark held. */
  raised: number;
  /** The watermark applied before this call, or undefined for none. */
  previousWatermark: number | undefined;
  /** Real-time buckets before the watermark, now settled and dropped (epoch minute -> cost). */
  droppedBuckets: Map<number, number>;
  /**
   * Every change of this subject that the ledger has not confirmed (confirmChanges): this
   * call's, when it changed the balance or settled or charged anything, and any an earlier run
   * made but never wrote.
   */
  pending: PendingChange[];
}

/**
 * A change made by reconciliation, kept by the store in the same atomic step, until the ledger
 * confirms it has the entries (ledger_adjustments, realtime_debits): a write that fails after
 * the store changed is then written by the next run instead of being lost.
 */
export interface PendingChange {
  changeId: string;
  /** 'restore': the first reconciliation of a subject after the store lost its state; 'sync' otherwise. */
  kind: 'sync' | 'restore';
  watermarkMinute: number;
  previousWatermarkMinute: number | undefined;
  before: number;
  after: number;
  /** Real-time debits the change settled (the sum of `settled`). */
  debited: number;
  /** The real-time buckets it settled and dropped: epoch minute -> cost. */
  settled: Map<number, number>;
  /** What earlier changes charged from metering for the minutes this one settled. */
  settledFromMetering: number;
  /** What this change charged from metering for minutes at or after its watermark: epoch minute -> cost. */
  raised: Map<number, number>;
  /**
   * A restore's balance as the ledger implies it: ledger base (grants + adjustments − settled
   * debits) minus the real-time debits the store still held. Undefined for a sync.
   */
  implied: number | undefined;
}

/** A durable grant that a reconciliation target counts. */
export interface CountedGrant {
  key: string;
  bodyHash: string;
}

export interface ReconcileRequest {
  /** Σ grants − Σ metered cost before the watermark. */
  target: number;
  watermarkMinute: number;
  /** Metered cost per epoch minute at or after the watermark, as ClickHouse holds it now. */
  meteredFrom?: ReadonlyMap<number, number> | undefined;
  counted?: readonly CountedGrant[] | undefined;
  changeId?: string | undefined;
  /**
   * Set by a restore: the subject's ledger base (grants + adjustments − settled real-time debits,
   * from ClickHouse). A subject the store lost is then restored, and its change is a 'restore'.
   */
  restore?: { ledgerBase: number } | undefined;
}

export interface AccountState {
  balance: number;
  /** Real-time debits not yet settled, per epoch minute. */
  unsettled: Map<number, number>;
  pending: PendingChange[];
}

export interface RestoreStatus {
  /** The store holds restored state: every subject is decided from it. */
  restored: boolean;
  /** The token of the restore that marked it restored. */
  restoredBy: string | undefined;
  /** The token of a restore under way, if any. */
  restoring: string | undefined;
}

/**
 * What identifies the store's state since its last loss: the token of the restore under way
 * or of the one that completed. A change read before and written after a wipe is caught by it.
 */
export const storeEpoch = (s: RestoreStatus): string | undefined => s.restoredBy ?? s.restoring;

/**
 * The store lost its state (a wiped or restarted Valkey, a memory store at start) and this
 * subject has not been restored yet: nothing may be decided from it. Callers treat it as a
 * store error (the route's onStoreError policy answers).
 */
export class StoreNotRestoredError extends Error {
  constructor(subject: string) {
    super(`the credit store has not restored the balance of ${subject} yet`);
    this.name = 'StoreNotRestoredError';
  }
}

export interface CreditStore {
  readonly kind: 'valkey' | 'memory';
  /**
   * If balance >= cost, subtract it and add it to the subject's bucket for `minute`; otherwise
   * change nothing. With `budgetMs`, a store that has not answered within that many
   * milliseconds rejects with BudgetExceededError, after polling pending I/O once (an answer
   * already in the socket is taken). The in-process store always answers at once. A subject
   * whose balance the store cannot vouch for (it lost its state and no restore has reached the
   * subject yet) rejects with StoreNotRestoredError, changing nothing.
   */
  debit(subject: string, cost: number, minute: number, budgetMs?: number): Promise<DebitResult>;
  /** Give back a debit once per requestId, in the debit's own minute bucket. */
  refund(subject: string, cost: number, minute: number, requestId: string): Promise<RefundResult>;
  /** Reserve an idempotency key for one body hash; applies nothing. */
  claimGrant(subject: string, key: string, bodyHash: string): Promise<GrantClaim>;
  /** Add a durable grant to the balance, once per key; never beyond MAX_CREDITS. */
  applyGrant(subject: string, key: string, bodyHash: string, amount: number): Promise<ApplyGrantResult>;
  /** Rejects with StoreNotRestoredError while the subject's balance has not been restored. */
  balance(subject: string): Promise<number>;
  /**
   * One atomic step, as of `watermarkMinute` (W): the buckets before W are settled and dropped;
   * each minute at or after W is charged at least its metered cost (`meteredFrom`), what it
   * held beyond its real-time debits kept as charged from metering; then
   *   balance = target − Σ (real-time debits + charged from metering) at or after W,
   * where target = grants − metered cost before W. A watermark older than the one applied
   * changes nothing ('stale'); the same one again is idempotent. Outside a restore, a subject
   * the store cannot decide (not restored) is left alone ('not-restored'). `counted`: the recent
   * grants in the target, marked applied so a top-up in flight does not add them again. A change
   * is kept as pending under `changeId` (a new id by default).
   * Rejects with a RangeError, changing nothing, when the target or the new balance is not a
   * safe integer (safe-credits.ts).
   */
  reconcile(subject: string, request: ReconcileRequest): Promise<ReconcileResult>;
  /** Forgets pending changes whose ledger entries are written. */
  confirmChanges(subject: string, changeIds: readonly string[]): Promise<void>;
  /** Real-time debits per epoch minute not yet reconciled. */
  realtimeBuckets(subject: string): Promise<Map<number, number>>;
  /** Per epoch minute not yet settled, what reconciliation charged from metering beyond the real-time debits. */
  meteredCharges(subject: string): Promise<Map<number, number>>;
  /**
   * The subject's balance, unsettled charges and pending changes, read in one atomic step
   * (the ledger's view). Rejects with StoreNotRestoredError like `balance`.
   */
  account(subject: string): Promise<AccountState>;
  /** Whether the store holds restored state, and the token of a restore under way. One cheap read. */
  restoreStatus(): Promise<RestoreStatus>;
  /** Starts a restore, or joins the one under way: its token. */
  beginRestore(): Promise<string>;
  /**
   * Marks the store restored if the restore of `token` is still the one under way (the store
   * was not wiped since it began); true when marked.
   */
  completeRestore(token: string): Promise<boolean>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const epochMinute = (ms: number): number => Math.floor(ms / 60_000);
