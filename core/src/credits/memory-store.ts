import { randomUUID } from 'node:crypto';
import {
  StoreNotRestoredError,
  type AccountState,
  type ApplyGrantResult,
  type CreditStore,
  type DebitResult,
  type GrantClaim,
  type PendingChange,
  type ReconcileRequest,
  type ReconcileResult,
  type RefundResult,
  type RestoreStatus,
} from './credit-store.ts';
import { planReconcile } from './reconcile-plan.ts';
import { assertSafeCredits, MAX_CREDITS } from './safe-credits.ts';

interface Account {
  balance: number;
  /** Real-time debits per minute. */
  buckets: Map<number, number>;
  /** Charged from metering per minute, beyond the real-time debits. */
  metered: Map<number, number>;
  grants: Map<string, { hash: string; applied: boolean }>;
  refunds: Set<string>;
  watermark: number | undefined;
  pending: Map<string, PendingChange>;
}

const copyChange = (c: PendingChange): PendingChange => ({ ...c, settled: new Map(c.settled), raised: new Map(c.raised) });

/**
 * Credit store for a single process, with the semantics of the Valkey scripts. Each method
 * runs to completion before any other can start (one JavaScript turn), which is what makes
 * it atomic. State lives as long as the process: a new store has lost whatever the previous
 * process held, so it starts unrestored (nothing is decided from it until a restore reaches a
 * subject or completes), unless `restored` says there is nothing to restore.
 */
export class MemoryCreditStore implements CreditStore {
  readonly kind = 'memory' as const;
  readonly #accounts = new Map<string, Account>();
  #restored: boolean;
  #restoredBy: string | undefined;
  #restoring: string | undefined;

  constructor({ restored = false }: { restored?: boolean } = {}) {
    this.#restored = restored;
    this.#restoredBy = restored ? 'created restored' : undefined;
  }

  #account(subject: string): Account {
    let account = this.#accounts.get(subject);
    if (!account) {
      account = { balance: 0, buckets: new Map(), metered: new Map(), grants: new Map(), refunds: new Set(), watermark: undefined, pending: new Map() };
      this.#accounts.set(subject, account);
    }
    return account;
  }

  /** A subject is decided from the store once the store is restored, or a restore reached it. */
  #decidable(subject: string): boolean {
    return this.#restored || this.#accounts.get(subject)?.watermark !== undefined;
  }

  async debit(subject: string, cost: number, minute: number): Promise<DebitResult> {
    if (!this.#decidable(subject)) throw new StoreNotRestoredError(subject);
    const a = this.#account(subject);
    if (cost === 0) return { allowed: a.balance >= 0, balance: a.balance };
    if (a.balance < cost) return { allowed: false, balance: a.balance };
    a.balance -= cost;
    a.buckets.set(minute, (a.buckets.get(minute) ?? 0) + cost);
    return { allowed: true, balance: a.balance };
  }

  async refund(subject: string, cost: number, minute: number, requestId: string): Promise<RefundResult> {
    const a = this.#account(subject);
    if (a.refunds.has(requestId)) return { refunded: false, balance: a.balance };
    a.refunds.add(requestId);
    a.balance += cost;
    const left = (a.buckets.get(minute) ?? 0) - cost;
    if (left === 0) a.buckets.delete(minute);
    else a.buckets.set(minute, left);
    return { refunded: true, balance: a.balance };
  }

  async claimGrant(subject: string, key: string, bodyHash: string): Promise<GrantClaim> {
    const grants = this.#account(subject).grants;
    const current = grants.get(key);
    if (!current) {
      grants.set(key, { hash: bodyHash, applied: false });
      return 'new';
    }
    return current.hash === bodyHash ? 'same' : 'conflict';
  }

  async applyGrant(subject: string, key: string, bodyHash: string, amount: number): Promise<ApplyGrantResult> {
    const a = this.#account(subject);
    const current = a.grants.get(key);
    if (current && current.hash !== bodyHash) return { status: 'conflict', balance: a.balance };
    if (current?.applied) return { status: 'already', balance: a.balance };
    if (a.balance + amount > MAX_CREDITS) return { status: 'overflow', balance: a.balance };
    a.grants.set(key, { hash: bodyHash, applied: true });
    a.balance += amount;
    return { status: 'applied', balance: a.balance };
  }

  async balance(subject: string): Promise<number> {
    if (!this.#decidable(subject)) throw new StoreNotRestoredError(subject);
    return this.#accounts.get(subject)?.balance ?? 0;
  }

  async account(subject: string): Promise<AccountState> {
    if (!this.#decidable(subject)) throw new StoreNotRestoredError(subject);
    const a = this.#accounts.get(subject);
    return { balance: a?.balance ?? 0, unsettled: new Map(a?.buckets ?? []), pending: [...(a?.pending.values() ?? [])].map(copyChange) };
  }

  async reconcile(subject: string, request: ReconcileRequest): Promise<ReconcileResult> {
    assertSafeCredits(request.target, 'a reconciliation target');
    const a = this.#account(subject);
    const changeId = request.changeId ?? randomUUID();
    const plan = planReconcile(
      { balance: a.balance, buckets: a.buckets, metered: a.metered, watermark: a.watermark, restored: this.#restored },
      request,
      changeId,
    );
    const pending = () => [...a.pending.values()].map(copyChange);
    if (plan.status !== 'applied') return { ...plan.result, pending: pending() };
    for (const minute of plan.result.droppedBuckets.keys()) a.buckets.delete(minute);
    for (const minute of plan.droppedMetered) a.metered.delete(minute);
    for (const [minute, cost] of plan.raise) a.metered.set(minute, (a.metered.get(minute) ?? 0) + cost);
    for (const g of request.counted ?? []) {
      const current = a.grants.get(g.key);
      if (!current || (current.hash === g.bodyHash && !current.applied)) a.grants.set(g.key, { hash: g.bodyHash, applied: true });
    }
    a.balance = plan.result.after;
    a.watermark = request.watermarkMinute;
    if (plan.change) a.pending.set(changeId, plan.change);
    return { ...plan.result, pending: pending() };
  }

  async confirmChanges(subject: string, changeIds: readonly string[]): Promise<void> {
    const pending = this.#accounts.get(subject)?.pending;
    for (const id of changeIds) pending?.delete(id);
  }

  async realtimeBuckets(subject: string): Promise<Map<number, number>> {
    return new Map(this.#accounts.get(subject)?.buckets ?? []);
  }

  async meteredCharges(subject: string): Promise<Map<number, number>> {
    return new Map(this.#accounts.get(subject)?.metered ?? []);
  }

  async restoreStatus(): Promise<RestoreStatus> {
    return { restored: this.#restored, restoredBy: this.#restoredBy, restoring: this.#restoring };
  }

  async beginRestore(): Promise<string> {
    this.#restoring ??= randomUUID();
    return this.#restoring;
  }

  async completeRestore(token: string): Promise<boolean> {
    if (this.#restoring !== token) return false;
    this.#restored = true;
    this.#restoredBy = token;
    this.#restoring = undefined;
    return true;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
