import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMinute, type CreditStore } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
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

/**
 * Reconciliation against a private Valkey and this file's embedded ClickHouse, with traffic
 * through the sidecar and its events through the single-process bus. The sidecar and the
 * workers share a clock that the test moves minute by minute, so windows settle at once
 * (settle lag 0) instead of after real minutes.
 */
// The outage below is a store that refuses connections (it fails at once); the budget is
// generous so that a slow moment on a busy machine is never taken for an outage.
const config = testConfig({
  credits: { ...testConfig().credits, storeTimeoutMs: 2_000, onStoreError: 'allow' },
  routes: [
    { method: 'GET', path: '/accounts', cost: 1, chargeOn: 'request', onStoreError: 'allow' },
    { method: 'GET', path: '/payments', cost: 3, chargeOn: 'request', onStoreError: 'allow' },
  ],
});

const clock = { t: Date.UTC(2026, 2, 1, 9, 0, 0) };
const now = () => clock.t;
const nextMinute = () => (clock.t += 60_000);

/** The credit store the sidecar uses; `down` sends every call to a Valkey that is not there. */
const switchable = (live: CreditStore, dead: CreditStore) => {
  const state = { down: false };
  const s = () => (state.down ? dead : live);
  const store: CreditStore = {
    kind: 'valkey',
    debit: (...a) => s().debit(...a),
    refund: (...a) => s().refund(...a),
    claimGrant: (...a) => s().claimGrant(...a),
    applyGrant: (...a) => s().applyGrant(...a),
    balance: (...a) => s().balance(...a),
    realtimeBuckets: (...a) => s().realtimeBuckets(...a),
    reconcile: (...a) => s().reconcile(...a),
    confirmChanges: (...a) => s().confirmChanges(...a),
    meteredCharges: (...a) => s().meteredCharges(...a),
    account: (...a) => s().account(...a),
    restoreStatus: () => s().restoreStatus(),
    beginRestore: () => s().beginRestore(),
    completeRestore: (...a) => s().completeRestore(...a),
    ping: () => s().ping(),
    close: async () => {},
  };
  return { store, state };
};

let valkey: ValkeyServer;
let live: ValkeyCreditStore;
let dead: ValkeyCreditStore;
let events: TestEvents;
let sidecar: TestSidecar;
let outage: ReturnType<typeof switchable>;
let calls = 0;

beforeAll(async () => {
  valkey = await startValkey();
  live = new ValkeyCreditStore({ url: valkey.url });
  await live.connected();
  // Port 1 on loopback: nothing listens, every command fails fast.
  dead = new ValkeyCreditStore({ url: 'redis://127.0.0.1:1' });
  outage = switchable(live, dead);
  events = await createTestEvents();
  sidecar = await createTestSidecar({ store: outage.store, config, emitter: events.bus, now });
});
afterAll(async () => {
  await events?.close();
  await live?.close();
  await dead?.close();
  await valkey?.stop();
  await closeTestClickHouse();
});

const authorize = async (subject: string, path: string) => {
  calls += 1;
  const res = await sidecar.app.request('http://sidecar/v1/authorize', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject, method: 'GET', path }),
  });
  expect([200, 429]).toContain(res.status);
  return res;
};

const scalar = async (query: string, params: Record<string, unknown>) => {
  const ch = await testClickHouse();
  const [row] = await (await ch.query({ query, query_params: params, format: 'JSONEachRow' })).json<{ v: string | number }>();
  return Number(row?.v ?? 0);
};
/** Every authorize call so far is an event in ClickHouse. */
const settled = () =>
  waitFor(async () => (await scalar(`SELECT count() AS v FROM events WHERE source = 'quota-sidecar'`, {})) === calls, {
    timeoutMs: 30_000,
    what: `${calls} events stored`,
  });
const granted = (s: string) => scalar(`SELECT sum(amount) AS v FROM credit_grants WHERE subject = {s:String}`, { s });
const eventCost = (s: string) => scalar(`SELECT sum(cost) AS v FROM events WHERE subject = {s:String}`, { s });
const metered = (s: string) => scalar(`SELECT sum(cost) AS v FROM usage_1m WHERE subject = {s:String}`, { s });

/** Waves of concurrent calls, a minute apart on the shared clock. */
const traffic = async (subjects: string[], waves: number, perWave: number) => {
  for (let w = 0; w < waves; w++) {
    await Promise.all(
      subjects.flatMap((s) => Array.from({ length: perWave }, (_, i) => authorize(s, i % 4 === 0 ? '/payments' : '/accounts'))),
    );
    nextMinute();
  }
};

const topUp = async (s: string, amount: number) => expect((await sidecar.topUp(s, amount)).status).toBe(201);

describe('sync worker reconciliation', () => {
  it('rebuilds every balance after Valkey is wiped: grants minus metered usage, exactly', async () => {
    const subjects = Array.from({ length: 4 }, () => uniqueSubject());
    for (const [i, s] of subjects.entries()) {
      await topUp(s, 40 + i * 7);
      await topUp(s, 5);
    }
    await traffic(subjects, 3, 8);
    await settled();
    const before = await Promise.all(subjects.map((s) => live.balance(s)));

    await live.client.flushall();
    // The emptied store answers for none of them until the restore.
    for (const s of subjects) await expect(live.balance(s)).rejects.toThrow(/has not restored the balance/);

    const worker = new SyncWorker({ clickhouse: await testClickHouse(), store: live, settleLagMs: 0, now });
    const run = await worker.runOnce();
    expect(run).toMatchObject({ kind: 'restore', caughtUp: true, watermarkMinute: epochMinute(now()), stale: 0 });
    for (const [i, s] of subjects.entries()) {
      const expected = (await granted(s)) - (await metered(s));
      expect(await live.balance(s)).toBe(expected);
      expect(expected).toBe(before[i]);
    }
  });

  it('loses no debit and counts none twice while traffic races the sync through many cycles', async () => {
    const subjects = Array.from({ length: 5 }, () => uniqueSubject());
    for (const s of subjects) await topUp(s, 120);
    const worker = new SyncWorker({ clickhouse: await testClickHouse(), store: live, intervalMs: 5, settleLagMs: 0, now });
    worker.start();
    try {
      const startRuns = worker.completedRuns;
      for (let round = 0; round < 6; round++) {
        await traffic(subjects, 1, 12);
        // Let the worker settle the minute just ended while the next wave starts.
        const seen = worker.completedRuns;
        await waitFor(() => worker.completedRuns > seen, { what: 'a sync cycle' });
      }
      expect(worker.completedRuns - startRuns).toBeGreaterThanOrEqual(6);
      await settled();
      const lastMinute = epochMinute(now());
      nextMinute();
      // A run that started after the events settled and the clock moved past the last traffic.
      await waitFor(() => (worker.lastRun?.watermarkMinute ?? 0) > lastMinute, { what: 'a run past the traffic' });
      const seen = worker.completedRuns;
      await waitFor(() => worker.completedRuns > seen + 1, { what: 'two more runs' });
    } finally {
      await worker.stop();
    }
    for (const s of subjects) {
      expect(await live.balance(s)).toBe((await granted(s)) - (await eventCost(s)));
      expect(await live.realtimeBuckets(s)).toEqual(new Map());
    }
  });

  it('charges calls let through while Valkey was unreachable and explains the drift as unverified', async () => {
    const s = uniqueSubject();
    await topUp(s, 100);
    await traffic([s], 1, 4);
    outage.state.down = true;
    try {
      for (let i = 0; i < 5; i++) {
        const res = await authorize(s, '/payments');
        expect(await res.json()).toMatchObject({ allowed: true, cost: 3, decision: 'unverified' });
      }
    } finally {
      outage.state.down = false;
    }
    nextMinute();
    await settled();
    const unverified = await scalar(`SELECT sum(unverified_cost) AS v FROM usage_1m WHERE subject = {s:String}`, { s });
    expect(unverified).toBe(15);
    const balanceBefore = await live.balance(s);

    const worker = new SyncWorker({ clickhouse: await testClickHouse(), store: live, settleLagMs: 0, now });
    await worker.runOnce();
    expect(await live.balance(s)).toBe((await granted(s)) - (await eventCost(s)));
    expect(await live.balance(s)).toBe(balanceBefore - 15);

    const ledger = (await (await sidecar.admin(`/admin/v1/subjects/${s}/ledger`)).json()) as { adjustments: { amount: number; cause: string }[] };
    expect(ledger.adjustments).toHaveLength(1);
    expect(ledger.adjustments[0]).toMatchObject({ amount: -15, cause: 'unverified', details: { unverified: 15 } });

    // Running again at the same watermark changes nothing and writes no second entry.
    await worker.runOnce({ watermarkMinute: worker.lastRun?.watermarkMinute ?? 0 });
    const again = (await (await sidecar.admin(`/admin/v1/subjects/${s}/ledger`)).json()) as { adjustments: unknown[] };
    expect(again.adjustments).toHaveLength(1);

    const from = new Date(now() - 3 * 60_000).toISOString();
    const to = new Date(now() + 60_000).toISOString();
    const report = await sidecar.admin(`/admin/v1/subjects/${s}/reconciliation?from=${from}&to=${to}&windowSize=MINUTE`);
    expect(report.status).toBe(200);
    const body = (await report.json()) as { windows: { debited: number; metered: number; unverified: number; drift: number; debitedUnsettled: number }[] };
    const sum = (k: 'debited' | 'metered' | 'unverified' | 'drift' | 'debitedUnsettled') => body.windows.reduce((a, w) => a + w[k], 0);
    expect(sum('metered')).toBe(await eventCost(s));
    expect(sum('unverified')).toBe(15);
    expect(sum('drift')).toBe(-15);
    expect(sum('debitedUnsettled')).toBe(0);
    // The settled real-time debits are kept for the report: what was debited is what was metered, less the unverified calls.
    expect(sum('debited')).toBe((await eventCost(s)) - 15);
  });

  it('writes the ledger entry of a change whose first ledger write failed, once, on the next run', async () => {
    const s = uniqueSubject();
    await topUp(s, 100);
    outage.state.down = true;
    try {
      for (let i = 0; i < 2; i++) await authorize(s, '/payments');
    } finally {
      outage.state.down = false;
    }
    nextMinute();
    await settled();
    const ch = await testClickHouse();
    // ClickHouse refuses the first ledger insert, after the store already changed the balance.
    let refusals = 1;
    const refusing = new Proxy(ch, {
      get(target, prop) {
        if (prop === 'insert') {
          return async (params: Parameters<typeof ch.insert>[0]) => {
            if (params.table === 'ledger_adjustments' && refusals-- > 0) throw new Error('ClickHouse refused the insert');
            return target.insert(params);
          };
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const worker = new SyncWorker({ clickhouse: refusing, store: live, settleLagMs: 0, now });
    await expect(worker.runOnce()).rejects.toThrow('ClickHouse refused the insert');
    expect(await live.balance(s)).toBe((await granted(s)) - (await eventCost(s)));
    const ledger = async () =>
      ((await (await sidecar.admin(`/admin/v1/subjects/${s}/ledger`)).json()) as { adjustments: { amount: number; cause: string }[] }).adjustments;
    expect(await ledger()).toEqual([]);

    // The next run changes no balance, yet writes the entry the failed run owed, and then no more.
    await worker.runOnce();
    expect(await ledger()).toEqual([expect.objectContaining({ amount: -6, cause: 'unverified' })]);
    await worker.runOnce({ full: true });
    expect(await ledger()).toHaveLength(1);
    expect(await live.balance(s)).toBe((await granted(s)) - (await eventCost(s)));
  });

  it('counts a grant once when the sync runs between its durable write and its apply', async () => {
    const s = uniqueSubject();
    await live.claimGrant(s, 'top-up-1', 'hash-1');
    await sidecar.grants.insert({ subject: s, idempotencyKey: 'top-up-1', amount: 70, reason: 'test', bodyHash: 'hash-1', createdAt: new Date().toISOString() });
    const worker = new SyncWorker({ clickhouse: await testClickHouse(), store: live, settleLagMs: 0, now });
    await worker.runOnce({ full: true });
    expect(await live.balance(s)).toBe(70);
    expect(await live.applyGrant(s, 'top-up-1', 'hash-1', 70)).toEqual({ status: 'already', balance: 70 });
  });

  it('guards the reconciliation report like every admin route, and validates its parameters', async () => {
    const s = uniqueSubject();
    expect((await sidecar.app.request(`http://sidecar/admin/v1/subjects/${s}/reconciliation`)).status).toBe(401);
    expect((await sidecar.admin(`/admin/v1/subjects/${s}/reconciliation?windowSize=WEEK`)).status).toBe(400);
    expect((await sidecar.admin(`/admin/v1/subjects/${s}/reconciliation?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z`)).status).toBe(400);
    const empty = await sidecar.admin(`/admin/v1/subjects/${s}/reconciliation?from=2026-03-01T00:00:00Z&to=2026-03-01T02:00:00Z`);
    expect(await empty.json()).toEqual({ subject: s, from: '2026-03-01T00:00:00.000Z', to: '2026-03-01T02:00:00.000Z', windowSize: 'HOUR', windows: [] });
  });
});
