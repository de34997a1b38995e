import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreditStore } from './credit-store.ts';

/**
 * The semantics every credit store must have. Run against the Valkey store and the memory
 * store alike, so the single-process store can never drift from the production one.
 */
export const creditStoreContract = (name: string, open: () => Promise<CreditStore>) => {
  describe(`credit store contract: ${name}`, () => {
    let store: CreditStore;
    const subject = () => `tpp-${randomUUID()}`;
    const grant = async (s: string, amount: number) => {
      const key = randomUUID();
      expect(await store.claimGrant(s, key, `h-${amount}`)).toBe('new');
      return store.applyGrant(s, key, `h-${amount}`, amount);
    };

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });

    it('starts a subject at zero and denies a debit', async () => {
      const s = subject();
      expect(await store.balance(s)).toBe(0);
      expect(await store.debit(s, 1, 100)).toEqual({ allowed: false, balance: 0 });
      expect(await store.realtimeBuckets(s)).toEqual(new Map());
    });

    it('debits while the balance covers the cost and records each debit in its minute bucket', async () => {
      const s = subject();
      await grant(s, 10);
      expect(await store.debit(s, 4, 100)).toEqual({ allowed: true, balance: 6 });
      expect(await store.debit(s, 4, 101)).toEqual({ allowed: true, balance: 2 });
      expect(await store.debit(s, 4, 101)).toEqual({ allowed: false, balance: 2 });
      expect(await store.debit(s, 2, 101)).toEqual({ allowed: true, balance: 0 });
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[100, 4], [101, 6]]));
    });

    it('never overspends under concurrency', async () => {
      const s = subject();
      await grant(s, 100);
      const results = await Promise.all(Array.from({ length: 1000 }, () => store.debit(s, 1, 7)));
      expect(results.filter((r) => r.allowed)).toHaveLength(100);
      expect(await store.balance(s)).toBe(0);
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[7, 100]]));
    });

    it('keeps concurrent debits of many subjects apart, each in its own bucket', async () => {
      const subjects = Array.from({ length: 20 }, subject);
      for (const [i, s] of subjects.entries()) await grant(s, i + 1);
      const results = await Promise.all(subjects.flatMap((s) => Array.from({ length: 25 }, () => store.debit(s, 1, 9))));
      expect(results.filter((r) => r.allowed)).toHaveLength((20 * 21) / 2);
      for (const [i, s] of subjects.entries()) {
        expect(await store.balance(s)).toBe(0);
        expect(await store.realtimeBuckets(s)).toEqual(new Map([[9, i + 1]]));
      }
    });

    it('treats cost 0 as a check: allowed at zero, denied when negative, nothing recorded', async () => {
      const s = subject();
      expect(await store.debit(s, 0, 5)).toEqual({ allowed: true, balance: 0 });
      expect(await store.realtimeBuckets(s)).toEqual(new Map());
    });

    it('refunds once per request id, in the debit minute', async () => {
      const s = subject();
      await grant(s, 5);
      await store.debit(s, 3, 200);
      expect(await store.refund(s, 3, 200, 'req-1')).toEqual({ refunded: true, balance: 5 });
      expect(await store.refund(s, 3, 200, 'req-1')).toEqual({ refunded: false, balance: 5 });
      expect(await store.realtimeBuckets(s)).toEqual(new Map());
    });

    it('claims an idempotency key for one body only', async () => {
      const s = subject();
      expect(await store.claimGrant(s, 'k1', 'a')).toBe('new');
      expect(await store.claimGrant(s, 'k1', 'a')).toBe('same');
      expect(await store.claimGrant(s, 'k1', 'b')).toBe('conflict');
      expect(await store.balance(s)).toBe(0);
    });

    it('applies a grant once per key, however often and concurrently it is applied', async () => {
      const s = subject();
      await store.claimGrant(s, 'k', 'h');
      const results = await Promise.all(Array.from({ length: 20 }, () => store.applyGrant(s, 'k', 'h', 50)));
      expect(results.filter((r) => r.status === 'applied')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'already')).toHaveLength(19);
      expect(await store.balance(s)).toBe(50);
      expect(await store.applyGrant(s, 'k', 'other', 50)).toEqual({ status: 'conflict', balance: 50 });
      expect(await store.claimGrant(s, 'k', 'h')).toBe('same');
    });

    it('applies a grant whose key was never claimed (a store that lost its state)', async () => {
      const s = subject();
      expect(await store.applyGrant(s, 'k', 'h', 7)).toEqual({ status: 'applied', balance: 7 });
    });

    it('keeps subjects apart', async () => {
      const a = subject();
      const b = subject();
      await grant(a, 3);
      expect(await store.debit(b, 1, 1)).toEqual({ allowed: false, balance: 0 });
      expect(await store.balance(a)).toBe(3);
    });

    it('reconciles: balance = target - debits at or after the watermark; settled buckets dropped', async () => {
      const s = subject();
      await grant(s, 100);
      await store.debit(s, 5, 10);
      await store.debit(s, 7, 11);
      await store.debit(s, 3, 12);
      // Metered before minute 12: 5 + 7 + 4 (an unverified call never debited) -> target 84.
      const r = await store.reconcile(s, 84, 12, [], 'change-1');
      expect(r).toEqual({
        applied: true,
        before: 85,
        after: 81,
        drift: -4,
        realtimeAtOrAfter: 3,
        previousWatermark: undefined,
        droppedBuckets: new Map([[10, 5], [11, 7]]),
        pending: [{ changeId: 'change-1', watermarkMinute: 12, previousWatermarkMinute: undefined, before: 85, after: 81, debited: 12 }],
      });
      expect(await store.balance(s)).toBe(81);
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[12, 3]]));
    });

    it('reconciles idempotently: the same watermark and target again changes nothing', async () => {
      const s = subject();
      await grant(s, 50);
      await store.debit(s, 10, 20);
      await store.debit(s, 1, 21);
      const first = await store.reconcile(s, 40, 21);
      const again = await store.reconcile(s, 40, 21);
      expect(first).toMatchObject({ applied: true, after: 39, drift: 0 });
      expect(again).toEqual({
        applied: true,
        before: 39,
        after: 39,
        drift: 0,
        realtimeAtOrAfter: 1,
        previousWatermark: 21,
        droppedBuckets: new Map(),
        pending: [],
      });
    });

    it('refuses a watermark older than the one applied, changing nothing', async () => {
      const s = subject();
      await grant(s, 30);
      await store.debit(s, 2, 40);
      await store.reconcile(s, 30, 40);
      await store.debit(s, 4, 39);
      const stale = await store.reconcile(s, 0, 39);
      expect(stale).toEqual({
        applied: false,
        before: 24,
        after: 24,
        drift: 0,
        // Reported against the watermark asked for.
        realtimeAtOrAfter: 6,
        previousWatermark: 40,
        droppedBuckets: new Map(),
        pending: [],
      });
      expect(await store.balance(s)).toBe(24);
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[39, 4], [40, 2]]));
    });

    it('rebuilds a subject the store has never seen (a wiped store) from the target', async () => {
      const s = subject();
      expect(await store.reconcile(s, 17, 5)).toMatchObject({ applied: true, before: 0, after: 17, drift: 17 });
      expect(await store.balance(s)).toBe(17);
    });

    it('marks the grants a target counts as applied, so a top-up in flight does not add them twice', async () => {
      const s = subject();
      expect(await store.claimGrant(s, 'in-flight', 'h')).toBe('new');
      // The grant is durable and the sync counts it before the top-up applies it.
      await store.reconcile(s, 25, 3, [{ key: 'in-flight', bodyHash: 'h' }]);
      expect(await store.applyGrant(s, 'in-flight', 'h', 25)).toEqual({ status: 'already', balance: 25 });
      // A wiped store: the key is marked from the durable grant alone; another body still conflicts.
      const wiped = subject();
      await store.reconcile(wiped, 9, 3, [{ key: 'k', bodyHash: 'h' }]);
      expect(await store.applyGrant(wiped, 'k', 'h', 9)).toEqual({ status: 'already', balance: 9 });
      expect(await store.applyGrant(wiped, 'k', 'other', 9)).toEqual({ status: 'conflict', balance: 9 });
    });

    it('loses no debit racing reconciliations: each lands before (counted in its bucket) or after', async () => {
      const s = subject();
      await grant(s, 1_000);
      const debits = Array.from({ length: 300 }, (_, i) => store.debit(s, 1, 60 + (i % 3)));
      // Nothing metered yet: the target stays the grants, each run keeps every bucket (watermark 60).
      const runs = Array.from({ length: 10 }, () => store.reconcile(s, 1_000, 60));
      await Promise.all([...debits, ...runs]);
      expect(await store.balance(s)).toBe(700);
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[60, 100], [61, 100], [62, 100]]));
      // Minutes 60 and 61 metered exactly as debited: settling them leaves the balance as it is.
      expect(await store.reconcile(s, 800, 62)).toMatchObject({ applied: true, before: 700, after: 700, drift: 0 });
    });

    it('keeps each balance change pending until its ledger entry is confirmed, and returns it to every later run', async () => {
      const s = subject();
      await grant(s, 10);
      await store.debit(s, 4, 30);
      // Nothing metered: the balance goes back to 10 (drift +4), pending as change a.
      const a = await store.reconcile(s, 10, 31, [], 'a');
      expect(a.pending).toEqual([{ changeId: 'a', watermarkMinute: 31, previousWatermarkMinute: undefined, before: 6, after: 10, debited: 4 }]);
      // Its ledger write failed: the next run, which changes nothing itself, still returns it ...
      expect((await store.reconcile(s, 10, 31, [], 'b')).pending.map((p) => p.changeId)).toEqual(['a']);
      // ... as does one that is too old to apply, and one that changes the balance again (b never existed).
      expect((await store.reconcile(s, 0, 20, [], 'c')).pending.map((p) => p.changeId)).toEqual(['a']);
      const d = await store.reconcile(s, 7, 32, [], 'd');
      expect(d.pending.map((p) => p.changeId).sort()).toEqual(['a', 'd']);
      expect(d.pending.find((p) => p.changeId === 'd')).toEqual({ changeId: 'd', watermarkMinute: 32, previousWatermarkMinute: 31, before: 10, after: 7, debited: 0 });
      // Confirmed (written to the ledger): gone; confirming again, or an unknown id, is harmless.
      await store.confirmChanges(s, ['a', 'd', 'never']);
      await store.confirmChanges(s, ['a']);
      expect((await store.reconcile(s, 7, 32, [], 'e')).pending).toEqual([]);
    });

    it('refuses a grant that would take the balance beyond 2^53 - 1, changing nothing', async () => {
      const s = subject();
      const max = Number.MAX_SAFE_INTEGER;
      await grant(s, max - 5);
      await store.claimGrant(s, 'too-much', 'h');
      expect(await store.applyGrant(s, 'too-much', 'h', 6)).toEqual({ status: 'overflow', balance: max - 5 });
      expect(await store.balance(s)).toBe(max - 5);
      // The key was not applied: the same grant, once it fits, still applies once.
      await store.debit(s, 1, 1);
      expect(await store.applyGrant(s, 'too-much', 'h', 6)).toEqual({ status: 'applied', balance: max });
      expect(await store.applyGrant(s, 'too-much', 'h', 6)).toEqual({ status: 'already', balance: max });
    });

    it('refuses a reconciliation whose balance would leave the safe integers, changing nothing', async () => {
      const s = subject();
      await grant(s, 10);
      await store.debit(s, 4, 50);
      for (const target of [Number.MAX_SAFE_INTEGER + 1, 2 ** 63, -(2 ** 63), Number.NaN, 1.5]) {
        await expect(store.reconcile(s, target, 40)).rejects.toThrow(/safe integer/);
      }
      // The kept bucket (4) would take this target below -(2^53 - 1).
      await expect(store.reconcile(s, -Number.MAX_SAFE_INTEGER, 40)).rejects.toThrow(/safe integer/);
      expect(await store.balance(s)).toBe(6);
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[50, 4]]));
      expect(await store.reconcile(s, 10, 40)).toMatchObject({ applied: true, before: 6, after: 6, previousWatermark: undefined });
    });

    it('answers ping', async () => {
      expect(await store.ping()).toBe(true);
    });
  });
};
