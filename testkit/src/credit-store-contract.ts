import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreditStore } from '@tollgate/core/credits';
import { grantOn, newSubject } from './contract-subjects.ts';
import { reconcileContract } from './reconcile-contract.ts';
import { restoreContract } from './restore-contract.ts';

export interface ContractStores {
  /** A store whose restore has run (its marker is present): the state of a running deployment. */
  open: () => Promise<CreditStore>;
  /** A store that has lost its state (or never held any): nothing is restored yet. Each call gives an empty one. */
  openUnrestored: () => Promise<CreditStore>;
}

/**
 * The semantics every credit store must have. Run against the Valkey store and the memory
 * store alike, so the single-process store can never drift from the production one.
 */
export const creditStoreContract = (name: string, stores: ContractStores) => {
  reconcileContract(name, stores.open);
  restoreContract(name, stores.openUnrestored);
  describe(`credit store contract: ${name}`, () => {
    const { open } = stores;
    let store: CreditStore;
    const subject = newSubject;
    const grant = (s: string, amount: number) => grantOn(store, s, amount);

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

    it('answers ping', async () => {
      expect(await store.ping()).toBe(true);
    });
  });
};
