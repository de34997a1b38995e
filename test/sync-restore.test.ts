import { describe, expect, it } from 'vitest';
import { epochMinute } from '@tollgate/core/credits';
import type { LedgerTotals } from '@tollgate/core/ledger';
import { waitFor } from '@tollgate/testkit/wait-for';
import { uniqueSubject } from '@tollgate/testkit/sidecar-fixture';
import {
  store,
  sidecar,
  valkey,
  clock,
  now,
  authorize,
  stored,
  granted,
  eventCost,
  worker,
  topUp,
  statuses,
  SETTLE_LAG_MS,
  useRestoreHarness,
} from '@tollgate/testkit/restore-harness';

/** The restore of a Valkey that lost its data, through the sidecar and the sync worker (testkit/src/restore-harness.ts). */
useRestoreHarness();

describe('restore after Valkey lost its data', () => {
  it('charges what ClickHouse holds for the unsettled minutes: a TPP that spent its credits before the wipe gets not one call after it', async () => {
    const s = uniqueSubject();
    await topUp(s, 50);
    expect(await statuses(s, 50)).toEqual(Array.from({ length: 50 }, () => 200));
    await stored();
    await (await worker()).runOnce();
    expect(await store.balance(s)).toBe(0);

    await store.client.flushall();
    await (await worker()).runOnce();
    // The 50 calls are in minutes after the watermark: their debits were lost with the store,
    // and the restore charges them from ClickHouse.
    expect(await store.balance(s)).toBe(0);
    expect(await statuses(s, 55)).toEqual(Array.from({ length: 55 }, () => 429));
    await stored();
    clock.t += SETTLE_LAG_MS + 60_000;
    await (await worker()).runOnce();
    expect(await store.balance(s)).toBe((await granted(s)) - (await eventCost(s)));
    expect(await store.balance(s)).toBe(0);
  });

  it('decides no call from the emptied store: deny answers 503, allow lets it through unverified, never a 429; after the restore the credits are there', async () => {
    const s = uniqueSubject();
    await topUp(s, 4_000);
    expect(await statuses(s, 3)).toEqual([200, 200, 200]);
    await stored();

    await store.client.flushall();
    const denied = await authorize(s);
    expect(denied.status).toBe(503);
    const allowed = await authorize(s, '/balances');
    expect(allowed).toMatchObject({ status: 200, body: { allowed: true, decision: 'unverified' } });
    const balance = await sidecar.admin(`/admin/v1/subjects/${s}/balance`);
    expect(balance.status).toBe(503);
    expect(balance.headers.get('content-type')).toBe('application/problem+json');

    await stored();
    await (await worker()).runOnce();
    expect(await sidecar.balance(s)).toBe(4_000 - 4);
    expect(await statuses(s, 3)).toEqual([200, 200, 200]);
  });

  it('restores after a restart without persistence just as after FLUSHALL', async () => {
    const s = uniqueSubject();
    await topUp(s, 20);
    expect(await statuses(s, 20)).toEqual(Array.from({ length: 20 }, () => 200));
    await stored();
    await valkey.stop();
    await valkey.start();
    await waitFor(() => store.ping(), { what: 'the store to reconnect' });
    expect((await authorize(s)).status).toBe(503);
    await (await worker()).runOnce();
    expect(await store.balance(s)).toBe(0);
    expect(await statuses(s, 5)).toEqual([429, 429, 429, 429, 429]);
  });

  it('keeps the watermark minutes it restored: the next runs settle them without charging them twice', async () => {
    const s = uniqueSubject();
    await topUp(s, 30);
    expect(await statuses(s, 10)).toEqual(Array.from({ length: 10 }, () => 200));
    await stored();
    await store.client.flushall();
    const w = await worker();
    await w.runOnce();
    expect(await store.balance(s)).toBe(20);
    clock.t += 60_000;
    expect(await statuses(s, 5)).toEqual([200, 200, 200, 200, 200]);
    await stored();
    for (let i = 0; i < 4; i++) {
      clock.t += 60_000;
      await w.runOnce();
      expect(await store.balance(s)).toBe(15);
    }
    expect(epochMinute(now()) - (w.lastRun?.watermarkMinute ?? 0)).toBe(2);
    expect(await store.realtimeBuckets(s)).toEqual(new Map());
  });

  it('keeps the ledger adding up across wipes and restarts: grants + adjustments = balance + consumed', async () => {
    const s = uniqueSubject();
    const ledger = async () => {
      const res = await sidecar.admin(`/admin/v1/subjects/${s}/ledger`);
      expect(res.status).toBe(200);
      return (await res.json()) as { balance: number; adjustments: { amount: number; cause: string }[]; totals: LedgerTotals };
    };
    const addsUp = async () => {
      const { totals, balance } = await ledger();
      expect(totals).toMatchObject({ balance, difference: 0 });
      expect(totals.grants + totals.adjustments).toBe(totals.balance + totals.consumed);
    };
    const w = await worker();
    await topUp(s, 100);
    expect(await statuses(s, 10)).toEqual(Array.from({ length: 10 }, () => 200));
    await stored();
    await w.runOnce();
    await addsUp();

    // Wiped with 10 unsettled debits; calls meanwhile: deny refused, allow let through unverified.
    await store.client.flushall();
    expect(await statuses(s, 3, '/balances')).toEqual([200, 200, 200]);
    expect(await statuses(s, 2)).toEqual([503, 503]);
    await stored();
    expect((await w.runOnce()).kind).toBe('restore');
    await addsUp();
    expect(await store.balance(s)).toBe(100 - 13);

    clock.t += 60_000;
    expect(await statuses(s, 5)).toEqual(Array.from({ length: 5 }, () => 200));
    await topUp(s, 20);
    await stored();
    await w.runOnce();
    await addsUp();

    // Restarted without persistence, then every minute settled.
    await valkey.stop();
    await valkey.start();
    await waitFor(() => store.ping(), { what: 'the store to reconnect' });
    await w.runOnce();
    await addsUp();
    clock.t += SETTLE_LAG_MS + 60_000;
    await w.runOnce();
    await addsUp();
    expect(await store.balance(s)).toBe((await granted(s)) - (await eventCost(s)));
    expect(await store.balance(s)).toBe(120 - 18);
    const { adjustments } = await ledger();
    expect(adjustments.filter((a) => a.cause === 'restore')).toHaveLength(2);
    expect(adjustments.map((a) => a.cause)).not.toContain('unknown');
  });
});
