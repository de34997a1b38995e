import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreditStore, PendingChange } from '@tollgate/core/credits';
import { grantOn, newSubject } from './contract-subjects.ts';

const change = (c: Partial<PendingChange> & Pick<PendingChange, 'changeId' | 'watermarkMinute' | 'before' | 'after'>): PendingChange => ({
  kind: 'sync',
  previousWatermarkMinute: undefined,
  debited: 0,
  settled: new Map(),
  settledFromMetering: 0,
  raised: new Map(),
  implied: undefined,
  ...c,
});

/** Reconciliation on a store that holds restored state: settling, charging from metering, pending changes. */
export const reconcileContract = (name: string, open: () => Promise<CreditStore>) => {
  describe(`credit store contract: ${name}: reconcile`, () => {
    let store: CreditStore;
    const subject = newSubject;
    const grant = (s: string, amount: number) => grantOn(store, s, amount);

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });

    it('reconciles: balance = target - debits at or after the watermark; settled buckets dropped', async () => {
      const s = subject();
      await grant(s, 100);
      await store.debit(s, 5, 10);
      await store.debit(s, 7, 11);
      await store.debit(s, 3, 12);
      // Metered before minute 12: 5 + 7 + 4 (an unverified call never debited) -> target 84.
      const r = await store.reconcile(s, { target: 84, watermarkMinute: 12, changeId: 'change-1' });
      const settled = new Map([[10, 5], [11, 7]]);
      expect(r).toEqual({
        status: 'applied',
        applied: true,
        before: 85,
        after: 81,
        drift: -4,
        realtimeAtOrAfter: 3,
        raised: 0,
        previousWatermark: undefined,
        droppedBuckets: settled,
        pending: [change({ changeId: 'change-1', watermarkMinute: 12, before: 85, after: 81, debited: 12, settled })],
      });
      expect(await store.balance(s)).toBe(81);
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[12, 3]]));
    });

    it('reconciles idempotently: the same watermark and target again changes nothing', async () => {
      const s = subject();
      await grant(s, 50);
      await store.debit(s, 10, 20);
      await store.debit(s, 1, 21);
      const first = await store.reconcile(s, { target: 40, watermarkMinute: 21 });
      expect(first).toMatchObject({ applied: true, after: 39, drift: 0 });
      // Settling without a balance change is a change too: its settled debits must reach the ledger once.
      expect(first.pending).toEqual([expect.objectContaining({ before: 39, after: 39, debited: 10, settled: new Map([[20, 10]]) })]);
      await store.confirmChanges(s, first.pending.map((p) => p.changeId));
      const again = await store.reconcile(s, { target: 40, watermarkMinute: 21 });
      expect(again).toEqual({
        status: 'applied',
        applied: true,
        before: 39,
        after: 39,
        drift: 0,
        realtimeAtOrAfter: 1,
        raised: 0,
        previousWatermark: 21,
        droppedBuckets: new Map(),
        pending: [],
      });
    });

    it('refuses a watermark older than the one applied, changing nothing', async () => {
      const s = subject();
      await grant(s, 30);
      await store.debit(s, 2, 40);
      await store.reconcile(s, { target: 30, watermarkMinute: 40 });
      await store.debit(s, 4, 39);
      const stale = await store.reconcile(s, { target: 0, watermarkMinute: 39, meteredFrom: new Map([[41, 100]]) });
      expect(stale).toMatchObject({
        status: 'stale',
        applied: false,
        before: 24,
        after: 24,
        drift: 0,
        // Reported against the watermark asked for.
        realtimeAtOrAfter: 6,
        raised: 0,
        previousWatermark: 40,
        droppedBuckets: new Map(),
      });
      expect(await store.balance(s)).toBe(24);
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[39, 4], [40, 2]]));
      expect(await store.meteredCharges(s)).toEqual(new Map());
    });

    it('rebuilds a subject it has never seen from the target, as a sync (the store is restored)', async () => {
      const s = subject();
      const r = await store.reconcile(s, { target: 17, watermarkMinute: 5 });
      expect(r).toMatchObject({ status: 'applied', before: 0, after: 17, drift: 17 });
      expect(r.pending).toEqual([expect.objectContaining({ kind: 'sync', implied: undefined })]);
      expect(await store.balance(s)).toBe(17);
    });

    it('charges each minute at or after the watermark at least its metered cost, and a charge only grows', async () => {
      const s = subject();
      await grant(s, 100);
      await store.debit(s, 5, 10);
      // Minute 10 metered 8 (5 debited + 3 unverified), minute 11 metered 3 never debited;
      // minute 9 is before the watermark: the target holds it.
      const first = await store.reconcile(s, { target: 100, watermarkMinute: 10, meteredFrom: new Map([[9, 50], [10, 8], [11, 3]]), changeId: 'r1' });
      expect(first).toMatchObject({ status: 'applied', before: 95, after: 89, drift: -6, raised: 6, realtimeAtOrAfter: 5 });
      expect(first.pending).toEqual([change({ changeId: 'r1', watermarkMinute: 10, before: 95, after: 89, raised: new Map([[10, 3], [11, 3]]) })]);
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[10, 5]]));
      expect(await store.meteredCharges(s)).toEqual(new Map([[10, 3], [11, 3]]));

      // Two more debits in minute 11, their events not metered yet: the minute holds 2 debited
      // and 3 charged from metering, more than the 3 metered, so nothing goes back.
      await store.debit(s, 1, 11);
      await store.debit(s, 1, 11);
      expect(await store.balance(s)).toBe(87);
      expect(await store.reconcile(s, { target: 100, watermarkMinute: 10, meteredFrom: new Map([[10, 8], [11, 3]]) })).toMatchObject({ after: 87, raised: 0 });
      expect(await store.reconcile(s, { target: 100, watermarkMinute: 10, meteredFrom: new Map([[10, 8], [11, 5]]) })).toMatchObject({ after: 87, raised: 0 });
      // One more unverified call in minute 11 is metered: charged now.
      expect(await store.reconcile(s, { target: 100, watermarkMinute: 10, meteredFrom: new Map([[11, 6]]) })).toMatchObject({ after: 86, raised: 1 });

      // Settling minutes 10 and 11 (metered 8 + 6 = 14) leaves the balance where it is: nothing counted twice.
      const settled = await store.reconcile(s, { target: 86, watermarkMinute: 12, changeId: 'r5' });
      expect(settled).toMatchObject({ after: 86, drift: 0, raised: 0, droppedBuckets: new Map([[10, 5], [11, 2]]) });
      expect(settled.pending.find((p) => p.changeId === 'r5')).toEqual(
        change({ changeId: 'r5', watermarkMinute: 12, previousWatermarkMinute: 10, before: 86, after: 86, debited: 7, settled: new Map([[10, 5], [11, 2]]), settledFromMetering: 7 }),
      );
      expect(await store.meteredCharges(s)).toEqual(new Map());
      expect(await store.realtimeBuckets(s)).toEqual(new Map());
    });

    it('marks the grants a target counts as applied, so a top-up in flight does not add them twice', async () => {
      const s = subject();
      expect(await store.claimGrant(s, 'in-flight', 'h')).toBe('new');
      // The grant is durable and the sync counts it before the top-up applies it.
      await store.reconcile(s, { target: 25, watermarkMinute: 3, counted: [{ key: 'in-flight', bodyHash: 'h' }] });
      expect(await store.applyGrant(s, 'in-flight', 'h', 25)).toEqual({ status: 'already', balance: 25 });
      // A wiped store: the key is marked from the durable grant alone; another body still conflicts.
      const wiped = subject();
      await store.reconcile(wiped, { target: 9, watermarkMinute: 3, counted: [{ key: 'k', bodyHash: 'h' }] });
      expect(await store.applyGrant(wiped, 'k', 'h', 9)).toEqual({ status: 'already', balance: 9 });
      expect(await store.applyGrant(wiped, 'k', 'other', 9)).toEqual({ status: 'conflict', balance: 9 });
    });

    it('loses no debit racing reconciliations: each lands before (counted in its bucket) or after', async () => {
      const s = subject();
      await grant(s, 1_000);
      const debits = Array.from({ length: 300 }, (_, i) => store.debit(s, 1, 60 + (i % 3)));
      // Nothing metered yet: the target stays the grants, each run keeps every bucket (watermark 60).
      const runs = Array.from({ length: 10 }, () => store.reconcile(s, { target: 1_000, watermarkMinute: 60 }));
      await Promise.all([...debits, ...runs]);
      expect(await store.balance(s)).toBe(700);
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[60, 100], [61, 100], [62, 100]]));
      // Minutes 60 and 61 metered exactly as debited: settling them leaves the balance as it is.
      expect(await store.reconcile(s, { target: 800, watermarkMinute: 62 })).toMatchObject({ applied: true, before: 700, after: 700, drift: 0 });
    });

    it('keeps each change pending until its ledger entry is confirmed, and returns it to every later run', async () => {
      const s = subject();
      await grant(s, 10);
      await store.debit(s, 4, 30);
      // Nothing metered: the balance goes back to 10 (drift +4), pending as change a.
      const a = await store.reconcile(s, { target: 10, watermarkMinute: 31, changeId: 'a' });
      expect(a.pending).toEqual([change({ changeId: 'a', watermarkMinute: 31, before: 6, after: 10, debited: 4, settled: new Map([[30, 4]]) })]);
      // Its ledger write failed: the next run, which changes nothing itself, still returns it ...
      expect((await store.reconcile(s, { target: 10, watermarkMinute: 31, changeId: 'b' })).pending.map((p) => p.changeId)).toEqual(['a']);
      // ... as does one that is too old to apply, and one that changes the balance again (b never existed).
      expect((await store.reconcile(s, { target: 0, watermarkMinute: 20, changeId: 'c' })).pending.map((p) => p.changeId)).toEqual(['a']);
      const d = await store.reconcile(s, { target: 7, watermarkMinute: 32, changeId: 'd' });
      expect(d.pending.map((p) => p.changeId).sort()).toEqual(['a', 'd']);
      expect(d.pending.find((p) => p.changeId === 'd')).toEqual(change({ changeId: 'd', watermarkMinute: 32, previousWatermarkMinute: 31, before: 10, after: 7 }));
      // Confirmed (written to the ledger): gone; confirming again, or an unknown id, is harmless.
      await store.confirmChanges(s, ['a', 'd', 'never']);
      await store.confirmChanges(s, ['a']);
      expect((await store.reconcile(s, { target: 7, watermarkMinute: 32, changeId: 'e' })).pending).toEqual([]);
    });

    it('refuses a reconciliation whose balance would leave the safe integers, changing nothing', async () => {
      const s = subject();
      await grant(s, 10);
      await store.debit(s, 4, 50);
      for (const target of [Number.MAX_SAFE_INTEGER + 1, 2 ** 63, -(2 ** 63), Number.NaN, 1.5]) {
        await expect(store.reconcile(s, { target, watermarkMinute: 40 })).rejects.toThrow(/safe integer/);
      }
      // The kept bucket (4) would take this target below -(2^53 - 1); so would a charge from metering.
      await expect(store.reconcile(s, { target: -Number.MAX_SAFE_INTEGER, watermarkMinute: 40 })).rejects.toThrow(/safe integer/);
      await expect(store.reconcile(s, { target: -Number.MAX_SAFE_INTEGER + 4, watermarkMinute: 40, meteredFrom: new Map([[41, 1]]) })).rejects.toThrow(
        /safe integer/,
      );
      expect(await store.balance(s)).toBe(6);
      expect(await store.realtimeBuckets(s)).toEqual(new Map([[50, 4]]));
      expect(await store.meteredCharges(s)).toEqual(new Map());
      expect(await store.reconcile(s, { target: 10, watermarkMinute: 40 })).toMatchObject({ applied: true, before: 6, after: 6, previousWatermark: undefined });
    });

    it('reads balance, unsettled debits and pending changes in one step', async () => {
      const s = subject();
      await grant(s, 20);
      await store.debit(s, 3, 70);
      await store.debit(s, 2, 71);
      await store.reconcile(s, { target: 17, watermarkMinute: 71, changeId: 'x' });
      expect(await store.account(s)).toEqual({
        balance: 15,
        unsettled: new Map([[71, 2]]),
        pending: [change({ changeId: 'x', watermarkMinute: 71, before: 15, after: 15, debited: 3, settled: new Map([[70, 3]]) })],
      });
    });
  });
};
