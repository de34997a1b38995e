import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, expect } from 'vitest';
import { createLogger } from '@tollgate/core';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import type { StoredEvent } from '@tollgate/core/events';
import { EventWriter } from '@tollgate/core/clickhouse';
import { SyncWorker } from '@tollgate/sync-worker';
import { closeTestClickHouse, createTestEvents, createTestSidecar, testClickHouse, testConfig, type TestEvents, type TestSidecar } from './sidecar-fixture.ts';
import { startValkey, type ValkeyServer } from './valkey.ts';
import { waitFor } from './wait-for.ts';

export const writeEvents = (clickhouse: ClickHouseClient, events: StoredEvent[]) =>
  new EventWriter({ clickhouse, logger: createLogger('test', 'silent'), writer: 'test' }).write(events);

/**
 * A Valkey that loses its data (FLUSHALL, a restart without persistence) and the restore that
 * follows, with the default settle lag of two minutes: the minutes of the last two minutes are
 * not settled yet, and their real-time debits are gone with the store. Traffic goes through the
 * sidecar, its events through the single-process bus into the test file's embedded ClickHouse;
 * the sidecar and the workers share a clock that the test moves. The fixture of
 * test/sync-restore.test.ts and test/sync-restore-catch-up.test.ts.
 */
const config = testConfig({
  credits: { ...testConfig().credits, storeTimeoutMs: 2_000, onStoreError: 'deny' },
  routes: [
    { method: 'GET', path: '/accounts', cost: 1, chargeOn: 'request', onStoreError: 'deny' },
    { method: 'GET', path: '/balances', cost: 1, chargeOn: 'request', onStoreError: 'allow' },
  ],
});
export const SETTLE_LAG_MS = 120_000;

export const clock = { t: Date.UTC(2026, 3, 1, 9, 0, 0) };
export const now = () => clock.t;

// Live bindings: set by useRestoreHarness before the file's tests run.
export let valkey: ValkeyServer;
export let store: ValkeyCreditStore;
export let events: TestEvents;
export let sidecar: TestSidecar;
let calls = 0;

/** Starts Valkey, the events and the sidecar before the test file's tests, and stops them after. */
export const useRestoreHarness = (): void => {
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
};

export const authorize = async (subject: string, path = '/accounts') => {
  calls += 1;
  const res = await sidecar.app.request('http://sidecar/v1/authorize', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject, method: 'GET', path }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
export const scalar = async (query: string, params: Record<string, unknown> = {}) => {
  const [row] = await (await (await testClickHouse()).query({ query, query_params: params, format: 'JSONEachRow' })).json<{ v: string | number }>();
  return Number(row?.v ?? 0);
};
/** Every authorize call so far is an event in ClickHouse. */
export const stored = () =>
  waitFor(async () => (await scalar(`SELECT count() AS v FROM events WHERE source = 'quota-sidecar'`)) === calls, {
    timeoutMs: 30_000,
    what: `${calls} events stored`,
  });
export const granted = (s: string) => scalar(`SELECT sum(amount) AS v FROM credit_grants WHERE subject = {s:String}`, { s });
export const eventCost = (s: string) => scalar(`SELECT sum(cost) AS v FROM events WHERE subject = {s:String}`, { s });
export const worker = async () => new SyncWorker({ clickhouse: await testClickHouse(), store, settleLagMs: SETTLE_LAG_MS, now });
export const topUp = async (s: string, amount: number) => expect((await sidecar.topUp(s, amount)).status).toBe(201);
export const statuses = async (s: string, n: number, path?: string) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await authorize(s, path)).status);
  return out;
};
