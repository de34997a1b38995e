import { describe, expect, it } from 'vitest';
import { StoreNotRestoredError, type CreditStore } from '@tollgate/core/credits';
import { newSubject } from './contract-subjects.ts';

/**
 * A store that lost its state (a wiped or restarted Valkey, a memory store at start): nothing
 * is decided from it until a restore reaches the subject or completes, and the restore
 * charges what ClickHouse already holds. Each test opens an empty, unrestored store.
 */
export const restoreContract = (name: string, openUnrestored: () => Promise<CreditStore>) => {
  describe(`credit store contract: ${name}: restore`, () => {
    const subject = newSubject;
    const withStore = async (fn: (store: CreditStore) => Promise<void>) => {
      const store = await openUnrestored();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    };
    const notRestored = expect.any(StoreNotRestoredError);

    it('decides nothing until restored, not even a free check; a top-up applies but does not make a subject decidable', async () => {
      await withStore(async (store) => {
        const s = subject();
        expect(await store.restoreStatus()).toEqual({ restored: false, restoredBy: undefined, restoring: undefined });
        expect(await store.claimGrant(s, 'k', 'h')).toBe('new');
        expect(await store.applyGrant(s, 'k', 'h', 10)).toEqual({ status: 'applied', balance: 10 });
        await expect(store.debit(s, 1, 5)).rejects.toEqual(notRestored);
        await expect(store.debit(s, 0, 5)).rejects.toEqual(notRestored);
        await expect(store.balance(s)).rejects.toEqual(notRestored);
        await expect(store.account(s)).rejects.toEqual(notRestored);
        expect(await store.realtimeBuckets(s)).toEqual(new Map());
      });
    });

    it('leaves a lost subject alone outside a restore', async () => {
      await withStore(async (store) => {
        const s = subject();
        const r = await store.reconcile(s, { target: 10, watermarkMinute: 5, meteredFrom: new Map([[6, 4]]) });
        expect(r).toMatchObject({ status: 'not-restored', applied: false, before: 0, after: 0, drift: 0, raised: 0, pending: [] });
        await expect(store.debit(s, 1, 6)).rejects.toEqual(notRestored);
        expect(await store.meteredCharges(s)).toEqual(new Map());
      });
    });

    it('decides each subject a restore reached; the marker, written by the restore that is still under way, decides the rest', async () => {
      await withStore(async (store) => {
        const [a, b, c] = [subject(), subject(), subject()];
        const token = await store.beginRestore();
        // A second restore (another replica) joins the one under way.
        expect(await store.beginRestore()).toBe(token);
        expect(await store.restoreStatus()).toEqual({ restored: false, restoredBy: undefined, restoring: token });
        const r = await store.reconcile(a, { target: 10, watermarkMinute: 5, restore: { ledgerBase: 10 }, changeId: 'ra' });
        expect(r).toMatchObject({ status: 'applied', before: 0, after: 10 });
        expect(r.pending).toEqual([expect.objectContaining({ changeId: 'ra', kind: 'restore', implied: 10 })]);
        expect(await store.debit(a, 1, 6)).toEqual({ allowed: true, balance: 9 });
        await expect(store.debit(b, 1, 6)).rejects.toEqual(notRestored);
        // The same subject again in a restore is a sync: the restore reached it already.
        const again = await store.reconcile(a, { target: 10, watermarkMinute: 5, restore: { ledgerBase: 10 }, changeId: 'ra2' });
        expect(again.pending.find((p) => p.changeId === 'ra2')).toBeUndefined();

        expect(await store.completeRestore('another token')).toBe(false);
        expect(await store.completeRestore(token)).toBe(true);
        expect(await store.restoreStatus()).toEqual({ restored: true, restoredBy: token, restoring: undefined });
        expect(await store.completeRestore(token)).toBe(false);
        expect(await store.debit(b, 1, 6)).toEqual({ allowed: false, balance: 0 });
        expect(await store.balance(b)).toBe(0);
        // A subject first seen after the restore is an ordinary sync.
        const later = await store.reconcile(c, { target: 3, watermarkMinute: 5, restore: { ledgerBase: 3 } });
        expect(later.pending).toEqual([expect.objectContaining({ kind: 'sync', implied: undefined })]);
      });
    });

    it('charges a lost subject what ClickHouse holds for the minutes at or after the watermark: spent credits stay spent', async () => {
      await withStore(async (store) => {
        const s = subject();
        await store.beginRestore();
        // 50 granted, 50 calls in minutes 100 and 101 (after the watermark 99), their debits lost.
        const r = await store.reconcile(s, {
          target: 50,
          watermarkMinute: 99,
          meteredFrom: new Map([[100, 30], [101, 20]]),
          restore: { ledgerBase: 50 },
          changeId: 'r',
        });
        expect(r).toMatchObject({ status: 'applied', before: 0, after: 0, raised: 50 });
        expect(r.pending).toEqual([
          {
            changeId: 'r',
            kind: 'restore',
            watermarkMinute: 99,
            previousWatermarkMinute: undefined,
            before: 0,
            after: 0,
            debited: 0,
            settled: new Map(),
            settledFromMetering: 0,
            raised: new Map([[100, 30], [101, 20]]),
            // The ledger still held the 50 the lost debits had taken: the restore's entry is -50.
            implied: 50,
          },
        ]);
        expect(await store.debit(s, 1, 101)).toEqual({ allowed: false, balance: 0 });
        expect(await store.meteredCharges(s)).toEqual(new Map([[100, 30], [101, 20]]));
        // Settling the minutes later, metered as restored, changes nothing.
        expect(await store.reconcile(s, { target: 0, watermarkMinute: 102 })).toMatchObject({ before: 0, after: 0, drift: 0 });
      });
    });

    it('counts what changed in the store since the loss: a top-up, a refund of an earlier debit', async () => {
      await withStore(async (store) => {
        const s = subject();
        await store.applyGrant(s, 'late', 'h', 20);
        await store.refund(s, 2, 100, 'req-1');
        await store.beginRestore();
        // Grants 30 (the 20 applied and 10 before the loss); the refunded call is metered at cost 0, 5 others.
        const r = await store.reconcile(s, { target: 30, watermarkMinute: 99, meteredFrom: new Map([[100, 5]]), restore: { ledgerBase: 30 } });
        // Minute 100 holds -2 debited and is charged 5: 7 from metering.
        expect(r).toMatchObject({ before: 22, after: 25, raised: 7 });
        // The ledger implies 30 minus the -2 the store still holds as unsettled debits.
        expect(r.pending).toEqual([expect.objectContaining({ kind: 'restore', implied: 32 })]);
      });
    });
  });
};
