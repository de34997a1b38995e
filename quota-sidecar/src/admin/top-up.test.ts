import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TollgateError } from '@tollgate/core';
import { MemoryCreditStore, type CreditStore } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { GrantRepository } from '@tollgate/core/ledger';
import { topUp } from './top-up.ts';

const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-topup-')) });
const grants = new GrantRepository(ch);
beforeAll(async () => {
  await migrate(ch);
  await migrate(ch); // idempotent
});

const stores: [string, () => Promise<CreditStore>][] = [
  ['memory', async () => new MemoryCreditStore({ restored: true })],
  [
    'valkey',
    async () => {
      const s = new ValkeyCreditStore({ url: inject('valkeyUrl') });
      await s.connected();
      return s;
    },
  ],
];

describe.each(stores)('topUp with the %s store', (_name, open) => {
  let store: CreditStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(() => store.close());
  const subject = () => `tpp-${randomUUID()}`;

  it('writes the grant durably and applies it once', async () => {
    const s = subject();
    const first = await topUp(store, grants, { subject: s, amount: 100, reason: 'prepaid', idempotencyKey: 'k1' });
    expect(first).toMatchObject({ created: true, balance: 100, grant: { amount: 100, reason: 'prepaid' } });
    const replay = await topUp(store, grants, { subject: s, amount: 100, reason: 'prepaid', idempotencyKey: 'k1' });
    expect(replay).toEqual({ ...first, created: false });
    expect(await store.balance(s)).toBe(100);
    expect(await grants.list(s)).toEqual([first.grant]);
  });

  it('refuses the same key with another body, changing nothing', async () => {
    const s = subject();
    await topUp(store, grants, { subject: s, amount: 5, reason: '', idempotencyKey: 'k' });
    await expect(topUp(store, grants, { subject: s, amount: 6, reason: '', idempotencyKey: 'k' })).rejects.toMatchObject({
      code: 'CONFLICT',
      status: 409,
    });
    expect(await store.balance(s)).toBe(5);
    expect((await grants.list(s)).map((g) => g.amount)).toEqual([5]);
  });

  it('applies 20 concurrent top-ups with one key once', async () => {
    const s = subject();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => topUp(store, grants, { subject: s, amount: 70, reason: 'x', idempotencyKey: 'same' })),
    );
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(ok).toHaveLength(20);
    expect(ok.filter((r) => r.created)).toHaveLength(1);
    expect(await store.balance(s)).toBe(70);
    expect(await grants.list(s)).toHaveLength(1);
  });

  it('keeps concurrent requests with different bodies for one key to one grant', async () => {
    const s = subject();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => topUp(store, grants, { subject: s, amount: i + 1, reason: '', idempotencyKey: 'race' })),
    );
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(ok).toHaveLength(1);
    expect(rejected).toHaveLength(9);
    expect(rejected.every((e) => e instanceof TollgateError && e.code === 'CONFLICT')).toBe(true);
    expect(await store.balance(s)).toBe(ok[0]?.grant.amount);
    expect((await grants.list(s)).map((g) => g.amount)).toEqual([ok[0]?.grant.amount]);
  });

  it('re-applies a durable grant to a store that lost it, once', async () => {
    const s = subject();
    const first = await topUp(store, grants, { subject: s, amount: 9, reason: '', idempotencyKey: 'lost' });
    const fresh = new MemoryCreditStore({ restored: true });
    const again = await topUp(fresh, grants, { subject: s, amount: 9, reason: '', idempotencyKey: 'lost' });
    expect(again).toEqual({ ...first, created: false, balance: 9 });
    await topUp(fresh, grants, { subject: s, amount: 9, reason: '', idempotencyKey: 'lost' });
    expect(await fresh.balance(s)).toBe(9);
  });

  it('refuses with 400 a top-up that would take the sum of grants past 2^53 - 1, writing and applying nothing', async () => {
    const s = subject();
    const max = Number.MAX_SAFE_INTEGER;
    // Grants written straight to ClickHouse (as by an earlier, larger maxTopUp): their sum is exact there.
    for (const [key, amount] of [['a', max - 100], ['b', 50]] as const) {
      await grants.insert({ subject: s, idempotencyKey: key, amount, reason: '', bodyHash: key, createdAt: new Date().toISOString() });
    }
    expect(await grants.total(s)).toBe(BigInt(max - 50));
    await expect(topUp(store, grants, { subject: s, amount: 51, reason: '', idempotencyKey: 'over' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      status: 400,
    });
    expect((await grants.list(s)).map((g) => g.idempotencyKey)).toEqual(['a', 'b']);
    expect(await store.balance(s)).toBe(0);
    // Nothing was claimed: the key is free for another body, which fits.
    expect(await topUp(store, grants, { subject: s, amount: 50, reason: '', idempotencyKey: 'over' })).toMatchObject({ created: true, balance: 50 });
    expect(await grants.total(s)).toBe(BigInt(max));
  });

  it('answers 400 when the store refuses a grant beyond 2^53 - 1 (the balance is ahead of the durable grants)', async () => {
    const s = subject();
    await store.applyGrant(s, 'seed', 'seed', Number.MAX_SAFE_INTEGER - 1);
    await expect(topUp(store, grants, { subject: s, amount: 2, reason: '', idempotencyKey: 'k' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await store.balance(s)).toBe(Number.MAX_SAFE_INTEGER - 1);
  });
});
