import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { DiskSpool, KafkaEmitter } from '@tollgate/core/event-path';
import { KafkaClient } from '@tollgate/core/kafka';
import { GrantRepository } from '@tollgate/core/ledger';
import { reconcileReplayed, ReplayRegistry, type ReplayProgress } from '@tollgate/quota-sidecar';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { createSidecarApp } from '@tollgate/quota-sidecar';
import { ADMIN_TOKEN, closeTestClickHouse, testClickHouse, testConfig, uniqueSubject } from '@tollgate/testkit/sidecar-fixture';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * Replay against real Kafka, Valkey and the embedded ClickHouse: decisions of the sidecar go
 * through the Kafka emitter, a meter-sink stores them, one minute of events is deleted from
 * ClickHouse, and `POST /admin/v1/replay` restores usage and balances exactly. The sidecar's
 * clock is fixed minutes in the past (settle lag 0), so windows are settled at once.
 */
const silent = createLogger('replay-test', 'silent');
const MINUTE = 60_000;
// An hour ago, on a minute: inside the acceptance window the sink checks around each record's Kafka timestamp.
const T0 = Math.floor((Date.now() - 60 * MINUTE) / MINUTE) * MINUTE;
const clock = { t: T0 };
const now = () => clock.t;
const iso = (ms: number) => new Date(ms).toISOString();

let broker: KafkaBroker;
let kafka: KafkaClient | undefined;
let store: ValkeyCreditStore;
let emitter: KafkaEmitter;
let sink: KafkaMeterSink;
let spoolDir: string;
const topic = `replay-${randomUUID()}`;
const sinkGroup = `sink-${topic}`;
let app: ReturnType<typeof createSidecarApp>;
let reconcile: (subjects: string[]) => Promise<unknown>;

beforeAll(async () => {
  broker = await startKafka();
  kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'replay-test' });
  await kafka.ensureTopics(topic, 3);
  const clickhouse = await testClickHouse();
  store = new ValkeyCreditStore({ url: inject('valkeyUrl') });
  await store.connected();
  spoolDir = mkdtempSync(join(tmpdir(), 'tollgate-replay-spool-'));
  emitter = new KafkaEmitter({ kafka, topic, spool: new DiskSpool({ dir: spoolDir, maxBytes: 64 * 1024 * 1024 }), logger: silent, lingerMs: 5 });
  await emitter.start();
  sink = new KafkaMeterSink({ kafka, clickhouse, topic, groupId: sinkGroup, batchSize: 500, batchWaitMs: 100, logger: silent });
  await sink.start();
  reconcile = reconcileReplayed({ clickhouse, store, settleLagMs: 0, now });
  const replays = new ReplayRegistry({ kafka, clickhouse, topic, sinkGroupId: sinkGroup, reconcile: reconcileReplayed({ clickhouse, store, settleLagMs: 0, now }), logger: silent });
  app = createSidecarApp({
    store,
    grants: new GrantRepository(clickhouse),
    config: testConfig({ routes: [{ method: 'GET', path: '/accounts', cost: 2, chargeOn: 'request', onStoreError: 'deny' }] }),
    adminTokens: [ADMIN_TOKEN],
    emitter,
    clickhouse,
    replays,
    now,
    logger: silent,
  });
}, 180_000);

afterAll(async () => {
  await emitter?.close();
  await sink?.stop();
  await store?.close();
  await kafka?.close();
  await broker?.close();
  await closeTestClickHouse();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
});

const admin = (path: string, init: RequestInit = {}) =>
  app.request(`http://sidecar${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });

const authorize = async (subject: string) => {
  const res = await app.request('http://sidecar/v1/authorize', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject, method: 'GET', path: '/accounts' }),
  });
  expect(res.status).toBe(200);
};

const rows = async <T>(query: string, params: Record<string, unknown>): Promise<T[]> =>
  (await (await testClickHouse()).query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();

/** Per subject: events stored, and the usage windows (minute → cost, events). */
const snapshot = async (subjects: string[]) => {
  const events = await rows<{ subject: string; n: string }>('SELECT subject, toString(count()) AS n FROM events WHERE subject IN {s:Array(String)} GROUP BY subject ORDER BY subject', { s: subjects });
  const usage = await rows<{ subject: string; window_start: string; cost: string; events: string }>(
    `SELECT subject, toString(window_start) AS window_start, toString(sum(cost)) AS cost, toString(sum(events)) AS events
     FROM usage_1m WHERE subject IN {s:Array(String)} GROUP BY subject, window_start ORDER BY subject, window_start`,
    { s: subjects },
  );
  const balances = await Promise.all(subjects.map(async (s) => [s, await store.balance(s)] as const));
  return { events, usage, balances };
};

const startReplay = (body: unknown) => admin('/admin/v1/replay', { method: 'POST', body: JSON.stringify(body) });

const untilDone = async (id: string): Promise<ReplayProgress> =>
  waitFor(
    async () => {
      const res = await admin(`/admin/v1/replay/${id}`);
      expect(res.status).toBe(200);
      const p = (await res.json()) as ReplayProgress;
      return p.state === 'running' ? undefined : p;
    },
    { timeoutMs: 60_000, what: `replay ${id} finished` },
  );

describe('replay from Kafka after events were deleted from ClickHouse', () => {
  const a = uniqueSubject();
  const b = uniqueSubject();
  const subjects = [a, b].sort();
  // Calls per minute (minutes 0, 1, 2) per subject; minute 1 is the window that gets deleted.
  const plan: Record<string, number[]> = { [a]: [5, 4, 2], [b]: [3, 6, 1] };
  const total = 5 + 4 + 2 + 3 + 6 + 1;
  const deleted = 4 + 6;
  let before: Awaited<ReturnType<typeof snapshot>>;

  it('restores usage and balances exactly; the same replay again changes nothing; a second one while it runs is a 409', async () => {
    for (const s of subjects) {
      const res = await admin(`/admin/v1/subjects/${s}/credits`, { method: 'POST', headers: { 'idempotency-key': randomUUID() }, body: JSON.stringify({ amount: 1_000, reason: 'test' }) });
      expect(res.status).toBe(201);
    }
    for (let minute = 0; minute < 3; minute++) {
      clock.t = T0 + minute * MINUTE + 1_000;
      for (const s of subjects) for (let i = 0; i < (plan[s]?.[minute] ?? 0); i++) await authorize(s);
    }
    await emitter.flush();
    await waitFor(async () => (await rows<{ n: string }>('SELECT toString(count()) AS n FROM events WHERE subject IN {s:Array(String)}', { s: subjects }))[0]?.n === String(total), {
      timeoutMs: 60_000,
      what: 'every event stored by the sink',
    });
    clock.t = T0 + 3 * MINUTE;
    await reconcile(subjects);
    before = await snapshot(subjects);
    expect(before.balances).toEqual(subjects.map((s) => [s, 1_000 - 2 * (plan[s] ?? []).reduce((x, y) => x + y, 0)]));
    expect(before.usage).toHaveLength(6);

    // An incident: minute 1 of both subjects is lost. The per-minute usage and the keys the writer
    // remembers are projections of events, so deleting the window from events deletes them too.
    const ch = await testClickHouse();
    const window = { s: subjects, from: iso(T0 + MINUTE).replace('T', ' ').replace('Z', ''), to: iso(T0 + 2 * MINUTE).replace('T', ' ').replace('Z', '') };
    await ch.command({
      query: `ALTER TABLE events DELETE WHERE subject IN {s:Array(String)} AND time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')}`,
      query_params: window,
      clickhouse_settings: { mutations_sync: '2' },
    });
    // The next sync sees less usage and gives the lost credits back.
    await reconcile(subjects);
    const lost = await snapshot(subjects);
    expect(lost.events.map((e) => Number(e.n)).reduce((x, y) => x + y, 0)).toBe(total - deleted);
    expect(lost.usage).toHaveLength(4);
    expect(lost.balances).toEqual(subjects.map((s) => [s, 1_000 - 2 * ((plan[s]?.[0] ?? 0) + (plan[s]?.[2] ?? 0))]));

    const res = await startReplay({ from: iso(T0) });
    expect(res.status).toBe(202);
    const started = (await res.json()) as ReplayProgress;
    expect(started).toMatchObject({ state: 'running', from: iso(T0), to: null, subjects: null });
    expect(res.headers.get('location')).toBe(`/admin/v1/replay/${started.id}`);

    const conflict = await startReplay({ from: iso(T0) });
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get('content-type')).toContain('application/problem+json');
    expect(await conflict.json()).toMatchObject({ status: 409, running: started.id });

    const first = await untilDone(started.id);
    expect(first).toMatchObject({ state: 'done', read: total, inserted: deleted, alreadyPresent: total - deleted, skipped: 0, invalid: 0, partitions: 3, partitionsDone: 3 });
    expect(first.reconciled).toMatchObject({ subjects: 2, applied: 2, stale: 0 });
    expect(await snapshot(subjects)).toEqual(before);

    // The same replay again: everything is present, nothing changes.
    const again = await untilDone(((await (await startReplay({ from: iso(T0) })).json()) as ReplayProgress).id);
    expect(again).toMatchObject({ state: 'done', read: total, inserted: 0, alreadyPresent: total, skipped: 0 });
    expect(await snapshot(subjects)).toEqual(before);

    // Filtered: one subject, minutes [0, 2): the rest is read and skipped.
    const filtered = await untilDone(((await (await startReplay({ from: iso(T0), to: iso(T0 + 2 * MINUTE), subjects: [a] })).json()) as ReplayProgress).id);
    const inA = (plan[a]?.[0] ?? 0) + (plan[a]?.[1] ?? 0);
    expect(filtered).toMatchObject({ state: 'done', read: total, inserted: 0, alreadyPresent: inA, skipped: total - inA, subjects: [a], to: iso(T0 + 2 * MINUTE) });
    expect(filtered.reconciled).toMatchObject({ subjects: 1 });
    expect(await snapshot(subjects)).toEqual(before);
  });

  it('answers 404 for an unknown replay, 400 for a bad request, and 401 without the admin token', async () => {
    const unknown = await admin(`/admin/v1/replay/${randomUUID()}`);
    expect(unknown.status).toBe(404);
    for (const body of [{}, { from: 'yesterday' }, { from: iso(T0), to: iso(T0) }, { from: iso(T0), subjects: [] }, { from: iso(T0), subjects: ['no spaces'] }, { from: iso(T0), extra: 1 }, []]) {
      const res = await startReplay(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const anonymous = await app.request('http://sidecar/admin/v1/replay', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: iso(T0) }) });
    expect(anonymous.status).toBe(401);
  });

  it('answers 503 with a problem explaining that replay needs Kafka when the sidecar runs without it', async () => {
    const noKafka = createSidecarApp({ store, grants: new GrantRepository(await testClickHouse()), config: testConfig(), adminTokens: [ADMIN_TOKEN], logger: silent });
    const res = await noKafka.request('http://sidecar/admin/v1/replay', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: iso(T0) }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/Kafka/);
  });
});
