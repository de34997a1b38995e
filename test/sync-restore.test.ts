import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { createLogger } from '@tollgate/core';
import { epochMinute } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import type { StoredEvent } from '@tollgate/core/events';
import { EventWriter } from '@tollgate/core/clickhouse';
import type { LedgerTotals } from '@tollgate/core/ledger';
import {
  closeTestClickHouse,
  createTestEvents,
  createTestSidecar,
  testClickHouse,
  testConfig,
  uniqueSubject,
  type TestEvents,
  type TestSidecar,
} from '@tollgate/testkit/sidecar-fixture';
import { SyncWorker } from '@tollgate/sync-worker';
import { startValkey, type ValkeyServer } from '@tollgate/testkit/valkey';
import { waitFor } from '@tollgate/testkit/wait-for';

const writeEvents = (clickhouse: ClickHouseClient, events: StoredEvent[]) =>
  new EventWriter({ clickhouse, logger: createLogger('test', 'silent'), writer: 'test' }).write(events);

/**
 * A Valkey that loses its data (FLUSHALL, a restart without persistence) and the restore that
 * follows, with the default settle lag of two minutes: the minutes of the last two minutes are
 * not settled yet, and their real-time debits are gone with the store. Traffic goes through the
 * sidecar, its events through the single-process bus into this file's embedded ClickHouse; the
 * sidecar and the workers share a clock that the test moves.
 */
const config = testConfig({
  credits: { ...testConfig().credits, storeTimeoutMs: 2_000, onStoreError: 'deny' },
  routes: [
    { method: 'GET', path: '/accounts', cost: 1, chargeOn: 'request', onStoreError: 'deny' },
    { method: 'GET', path: '/balances', cost: 1, chargeOn: 'request', onStoreError: 'allow' },
  ],
});
const SETTLE_LAG_MS = 120_000;

const clock = { t: Date.UTC(2026, 3, 1, 9, 0, 0) };
const now = () => clock.t;

let valkey: ValkeyServer;
let store: ValkeyCreditStore;
let events: TestEvents;
let sidecar: TestSidecar;
let calls = 0;

beforeAll(async () => {
  valkey = await startValkey();
  store = new ValkeyCreditStore({ url: valkey.url });
  await store.connected();
  events = await createTestEvents();
  sidecar = await createTestSidecar({ store, config, emitter: events.bus, now });
});
afterAll(async () => {
  await events?.close();
  await store?.close();
  await valkey?.stop();
  await closeTestClickHouse();
});

const authorize = async (subject: string, path = '/accounts') => {
  calls += 1;
  const res = await sidecar.app.request('http://sidecar/v1/authorize', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject, method: 'GET', path }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const scalar = async (query: string, params: Record<string, unknown> = {}) => {
  const [row] = await (await (await testClickHouse()).query({ query, query_params: params, format: 'JSONEachRow' })).json<{ v: string | number }>();
  return Number(row?.v ?? 0);
};
/** Every authorize call so far is an event in ClickHouse. */
const stored = () =>
  waitFor(async () => (await scalar(`SELECT count() AS v FROM events WHERE source = 'quota-sidecar'`)) === calls, {
    timeoutMs: 30_000,
    what: `${calls} events stored`,
  });
const granted = (s: string) => scalar(`SELECT sum(amount) AS v FROM credit_grants WHERE subject = {s:String}`, { s });
const eventCost = (s: string) => scalar(`SELECT sum(cost) AS v FROM events WHERE subject = {s:String}`, { s });
const worker = async () => new SyncWorker({ clickhouse: await testClickHouse(), store, settleLagMs: SETTLE_LAG_MS, now });
const topUp = async (s: string, amount: number) => expect((await sidecar.topUp(s, amount)).status).toBe(201);
const statuses = async (s: string, n: number, path?: string) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await authorize(s, path)).status);
  return out;
};

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

describe('events that reach ClickHouse after the restore', () => {
  it('are charged when they arrive, as events_after_restore, and the ledger still adds up', async () => {
    const s = uniqueSubject();
    await topUp(s, 10);
    // Three calls debited by a gateway; the event of the third is still in the gateway's
    // linger window (or spool) when Valkey loses its data, and arrives after the restore.
    const answeredAt = now();
    const minute = epochMinute(answeredAt);
    const event = (i: number) => ({
      source: 'late-gateway',
      id: randomUUID(),
      type: 'api.call',
      subject: s,
      timeMs: answeredAt + i,
      data: '{}',
      cost: 1,
      decision: 'debited',
    });
    for (let i = 0; i < 3; i++) expect(await store.debit(s, 1, minute)).toMatchObject({ allowed: true });
    await writeEvents(await testClickHouse(), [event(0), event(1)]);
    await store.client.flushall();
    const w = await worker();
    expect(await w.runOnce()).toMatchObject({ kind: 'restore' });
    // The restore charged what was stored: 8 left, one call more than the truth allows.
    expect(await store.balance(s)).toBe(8);

    clock.t += 60_000;
    await writeEvents(await testClickHouse(), [event(2)]);
    await w.runOnce();
    expect(await store.balance(s)).toBe(7);
    const ledger = (await (await sidecar.admin(`/admin/v1/subjects/${s}/ledger`)).json()) as {
      adjustments: { amount: number; cause: string }[];
      totals: LedgerTotals;
    };
    expect(ledger.adjustments.map((a) => [a.cause, a.amount])).toEqual([
      ['restore', -2],
      ['events_after_restore', -1],
    ]);
    expect(ledger.totals.difference).toBe(0);
  });
});

describe('the sync worker notices a lost store', () => {
  it('restores between runs within its poll, only once the metering path has caught up', async () => {
    const s = uniqueSubject();
    await topUp(s, 9);
    expect(await statuses(s, 4)).toEqual([200, 200, 200, 200]);
    await stored();
    const waits: number[] = [];
    let release = () => {};
    const caughtUp = new Promise<void>((resolve) => (release = resolve));
    const w = new SyncWorker({
      clickhouse: await testClickHouse(),
      store,
      settleLagMs: SETTLE_LAG_MS,
      // Only the poll can start the restore: the next run is an hour away.
      intervalMs: 3_600_000,
      restorePollMs: 20,
      awaitMeteringCaughtUp: async (asOfMs) => {
        waits.push(asOfMs);
        await caughtUp;
      },
      now,
    });
    w.start();
    try {
      await waitFor(() => w.completedRuns === 1, { what: 'the first run' });
      await store.client.flushall();
      await waitFor(() => waits.length === 1, { what: 'the restore to wait for the metering path' });
      expect(waits[0]).toBe(now());
      // While it waits, the store decides nothing for the subject.
      expect((await authorize(s)).status).toBe(503);
      expect(await store.restoreStatus()).toMatchObject({ restored: false, restoring: expect.any(String) });
      release();
      await waitFor(async () => (await store.restoreStatus()).restored, { what: 'the store to be restored' });
      expect(w.lastRun).toMatchObject({ kind: 'restore', caughtUp: true });
      expect(await store.balance(s)).toBe(5);
    } finally {
      await w.stop();
    }
  });

  it('restores from what is stored when the metering path does not catch up in time, and says so in the ledger', async () => {
    const s = uniqueSubject();
    await topUp(s, 3);
    await store.client.flushall();
    const w = new SyncWorker({
      clickhouse: await testClickHouse(),
      store,
      settleLagMs: SETTLE_LAG_MS,
      restoreCatchUpTimeoutMs: 100,
      awaitMeteringCaughtUp: (_asOf, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve())),
      now,
    });
    expect(await w.runOnce()).toMatchObject({ kind: 'restore', caughtUp: false });
    expect(await store.balance(s)).toBe(3);
    const ledger = (await (await sidecar.admin(`/admin/v1/subjects/${s}/ledger`)).json()) as { adjustments: { cause: string; details: Record<string, unknown> }[] };
    expect(ledger.adjustments).toEqual([expect.objectContaining({ cause: 'restore', details: expect.objectContaining({ caughtUp: false }) })]);
  });
});
