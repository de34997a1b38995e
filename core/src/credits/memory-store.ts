import { randomUUID } from 'node:crypto';
import { assertSafeCredits, MAX_CREDITS } from './safe-credits.ts';
import type { ApplyGrantResult, CountedGrant, CreditStore, DebitResult, GrantClaim, PendingChange, ReconcileResult, RefundResult } from './credit-store.ts';

interface Account {
  balance: number;
  buckets: Map<number, number>;
  grants: Map<string, { hash: string; applied: boolean }>;
  refunds: Set<string>;
  watermark: number | undefined;
  pending: Map<string, PendingChange>;
}

/**
 * Credit store for a single process, with the semantics of the Valkey scripts. Each method
 * runs to completion before any other can start (one JavaScript turn), which is what makes
 * it atomic. State lives as long as the process.
 */
export class MemoryCreditStore implements CreditStore {
  readonly kind = 'memory' as const;
  readonly #accounts = new Map<string, Account>();

  #account(subject: string): Account {
    let account = this.#accounts.get(subject);
    if (!account) {
      account = { balance: 0, buckets: new Map(), grants: new Map(), refunds: new Set(), watermark: undefined, pending: new Map() };
      this.#accounts.set(subject, account);
    }
    return account;
  }

  async debit(subject: string, cost: number, minute: number): Promise<DebitResult> {
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
    return this.#accounts.get(subject)?.balance ?? 0;
  }

  async reconcile(
    subject: string,
    target: number,
    watermarkMinute: number,
    counted: readonly CountedGrant[] = [],
    changeId: string = randomUUID(),
  ): Promise<ReconcileResult> {
    assertSafeCredits(target, 'a reconciliation target');
    const a = this.#account(subject);
    const previousWatermark = a.watermark;
    let realtimeAtOrAfter = 0;
    for (const [minute, cost] of a.buckets) if (minute >= watermarkMinute) realtimeAtOrAfter += cost;
    const before = a.balance;
    const droppedBuckets = new Map<number, number>();
    if (previousWatermark !== undefined && watermarkMinute < previousWatermark) {
      return { applied: false, before, after: before, drift: 0, realtimeAtOrAfter, previousWatermark, droppedBuckets, pending: [...a.pending.values()] };
    }
    assertSafeCredits(target - realtimeAtOrAfter, 'the reconciled balance');
    for (const [minute, cost] of a.buckets) {
      if (minute < watermarkMinute) {
        droppedBuckets.set(minute, cost);
        a.buckets.delete(minute);
      }
    }
    for (const g of counted) {
      const current = a.grants.get(g.key);
      if (!current || (current.hash === g.bodyHash && !current.applied)) a.grants.set(g.key, { hash: g.bodyHash, applied: true });
    }
    a.balance = target - realtimeAtOrAfter;
    a.watermark = watermarkMinute;
    if (a.balance !== before) {
      const debited = [...droppedBuckets.values()].reduce((sum, cost) => sum + cost, 0);
      a.pending.set(changeId, { changeId, watermarkMinute, previousWatermarkMinute: previousWatermark, before, after: a.balance, debited });
    }
    return {
      applied: true,
      before,
      after: a.balance,
      drift: a.balance - before,
      realtimeAtOrAfter,
      previousWatermark,
      droppedBuckets,
      pending: [...a.pending.values()],
    };
  }

  async confirmChanges(subject: string, changeIds: readonly string[]): Promise<void> {
    const pending = this.#accounts.get(subject)?.pending;
    for (const id of changeIds) pending?.delete(id);
  }

  async realtimeBuckets(subject: string): Promise<Map<number, number>> {
    return new Map(this.#accounts.get(subject)?.buckets ?? []);
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
