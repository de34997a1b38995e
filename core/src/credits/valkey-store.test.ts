import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { creditStoreContract } from '@tollgate/testkit/credit-store-contract';
import { ValkeyCreditStore } from './valkey-store.ts';

const url = inject('valkeyUrl');
const open = async (at = url) => {
  const store = new ValkeyCreditStore({ url: at });
  await store.connected();
  return store;
};
/**
 * A database of the shared server that only this file uses, emptied for each test: the
 * restored marker is per database, so wiping it leaves the other test files' stores restored.
 */
const SCRATCH = `${url}/9`;
const openWiped = async () => {
  const store = await open(SCRATCH);
  await store.client.flushdb();
  return store;
};
creditStoreContract('valkey', { open: () => open(), openUnrestored: openWiped });

describe('valkey store restore marker', () => {
  it('keeps a restore from completing once the store was wiped after it began', async () => {
    const store = await openWiped();
    try {
      const s = `tpp-wiped-${Date.now()}`;
      const token = await store.beginRestore();
      await store.reconcile(s, { target: 5, watermarkMinute: 1, restore: { ledgerBase: 5 } });
      await store.client.flushdb();
      expect(await store.completeRestore(token)).toBe(false);
      expect(await store.restoreStatus()).toEqual({ restored: false, restoredBy: undefined, restoring: undefined });
      await expect(store.debit(s, 1, 2)).rejects.toThrow(/not restored the balance/);
      // A restore begun after the wipe completes.
      expect(await store.completeRestore(await store.beginRestore())).toBe(true);
      await store.client.flushdb();
      expect(await store.restoreStatus()).toEqual({ restored: false, restoredBy: undefined, restoring: undefined });
    } finally {
      await store.close();
    }
  });

  it('writes balances near 2^53 exactly (Lua would print them with 14 digits)', async () => {
    const store = await open();
    try {
      const s = `tpp-large-${Date.now()}`;
      const target = Number.MAX_SAFE_INTEGER - 12;
      const r = await store.reconcile(s, { target, watermarkMinute: 1, meteredFrom: new Map([[2, 3]]), changeId: 'big' });
      expect(r).toMatchObject({ after: target - 3 });
      expect(await store.balance(s)).toBe(target - 3);
      expect(r.pending).toEqual([expect.objectContaining({ before: 0, after: target - 3 })]);
    } finally {
      await store.close();
    }
  });
});

describe('valkey store scripts', () => {
  let store: ValkeyCreditStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => {
    await store.close();
  });

  it('keeps working after the server lost its scripts (SCRIPT FLUSH)', async () => {
    const s = `tpp-flush-${Date.now()}`;
    expect(await store.applyGrant(s, 'k', 'h', 3)).toEqual({ status: 'applied', balance: 3 });
    await store.client.script('FLUSH');
    expect(await store.debit(s, 1, 1)).toEqual({ allowed: true, balance: 2 });
    await store.client.script('FLUSH');
    expect(await store.refund(s, 1, 1, 'r')).toEqual({ refunded: true, balance: 3 });
  });

  it('keeps every key of a subject in one cluster slot', async () => {
    const s = 'tpp-slot.1:a';
    await store.applyGrant(s, 'k', 'h', 1);
    await store.debit(s, 1, 1);
    const keys = await store.client.keys(`tg:{${s}}:*`);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    const slots = new Set(await Promise.all(keys.map((k) => store.client.call('CLUSTER', 'KEYSLOT', k).catch(() => null))));
    // CLUSTER KEYSLOT answers on a standalone server too.
    expect(slots.size).toBe(1);
  });

  it('keeps arrival order when a turn crosses a minute (one call per run of debits with the same minute)', async () => {
    const s = `tpp-minutes-${Date.now()}`;
    await store.applyGrant(s, 'k', 'h', 2);
    // Grouped by minute, the third debit would be decided before the second and take the last credit.
    const results = await Promise.all([store.debit(s, 1, 10), store.debit(s, 1, 11), store.debit(s, 1, 10)]);
    expect(results).toEqual([
      { allowed: true, balance: 1 },
      { allowed: true, balance: 0 },
      { allowed: false, balance: 0 },
    ]);
    expect(await store.realtimeBuckets(s)).toEqual(new Map([[10, 1], [11, 1]]));
  });

  it('decides interleaved subjects in order, each against its own running balance, and writes each minute once', async () => {
    const a = `tpp-a-${Date.now()}`;
    const b = `tpp-b-${Date.now()}`;
    await store.applyGrant(a, 'k', 'h', 3);
    await store.applyGrant(b, 'k', 'h', 1);
    const results = await Promise.all([
      store.debit(a, 2, 10),
      store.debit(b, 1, 10),
      store.debit(a, 2, 11),
      store.debit(b, 0, 11),
      store.debit(a, 1, 11),
      store.debit(b, 1, 11),
    ]);
    expect(results).toEqual([
      { allowed: true, balance: 1 },
      { allowed: true, balance: 0 },
      { allowed: false, balance: 1 },
      { allowed: true, balance: 0 },
      { allowed: true, balance: 0 },
      { allowed: false, balance: 0 },
    ]);
    expect([await store.balance(a), await store.balance(b)]).toEqual([0, 0]);
    expect(await store.realtimeBuckets(a)).toEqual(new Map([[10, 2], [11, 1]]));
    expect(await store.realtimeBuckets(b)).toEqual(new Map([[10, 1]]));
  });

  it('fails only the debit whose keys hold something else; the debits beside it are applied', async () => {
    const good = `tpp-good-${Date.now()}`;
    const badBalance = `tpp-badbal-${Date.now()}`;
    const badBucket = `tpp-badrt-${Date.now()}`;
    await store.applyGrant(good, 'k', 'h', 10);
    await store.applyGrant(badBucket, 'k', 'h', 10);
    await store.client.hset(`tg:{${badBalance}}:balance`, 'x', '1');
    await store.client.set(`tg:{${badBucket}}:rt`, 'not a hash');
    const [a, b, c, d] = await Promise.allSettled([
      store.debit(good, 2, 1),
      store.debit(badBalance, 1, 1),
      store.debit(badBucket, 1, 1),
      store.debit(good, 3, 1),
    ]);
    expect(a).toEqual({ status: 'fulfilled', value: { allowed: true, balance: 8 } });
    expect(b.status).toBe('rejected');
    expect(String((b as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(c.status).toBe('rejected');
    expect(String((c as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(d).toEqual({ status: 'fulfilled', value: { allowed: true, balance: 5 } });
    // The failed debit changed nothing.
    expect(await store.balance(badBucket)).toBe(10);
    await store.client.set(`tg:{${badBalance}}:balance`, '1.5');
    await expect(store.debit(badBalance, 1, 1)).rejects.toThrow(/not an integer/);

    // A bucket field that cannot be incremented fails the subject's debits of that minute, and
    // leaves its balance and other buckets as they were; the other subject's debit is applied.
    const badField = `tpp-badfield-${Date.now()}`;
    await store.applyGrant(badField, 'k', 'h', 10);
    await store.client.hset(`tg:{${badField}}:rt`, '2', 'abc', '5', '7');
    const failed = await Promise.allSettled([store.debit(badField, 1, 2), store.debit(good, 1, 2), store.debit(badField, 2, 2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    expect(String((failed[0] as PromiseRejectedResult).reason)).toMatch(/not an integer/);
    expect(await store.balance(badField)).toBe(10);
    expect(await store.client.hgetall(`tg:{${badField}}:rt`)).toEqual({ '2': 'abc', '5': '7' });
    // Its debits of another minute, in the same turn, are applied: each minute is its own call.
    const other = await Promise.allSettled([store.debit(badField, 1, 5), store.debit(badField, 1, 2), store.debit(badField, 3, 6)]);
    expect(other.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await store.balance(badField)).toBe(6);
    expect(await store.client.hgetall(`tg:{${badField}}:rt`)).toEqual({ '2': 'abc', '5': '8', '6': '3' });
    expect(await store.balance(good)).toBe(4);
  });
});
