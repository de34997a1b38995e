import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMinute, MemoryCreditStore } from '@tollgate/core/credits';
import { reconcileSubjects } from '@tollgate/core/ledger';
import {
  ADMIN_TOKEN,
  closeTestClickHouse,
  createTestEvents,
  createTestSidecar,
  testClickHouse,
  testConfig,
  type TestEvents,
  type TestSidecar,
} from '@tollgate/testkit/sidecar-fixture';
import { waitFor } from '@tollgate/testkit/wait-for';
import { seededRandom, type Random } from '@tollgate/testkit/seeded-random';

/**
 * A property test of the ingest and admin edges: seeded runs of generated requests (events of
 * random types, deep and wide data, extreme numbers, odd times, unicode, ids repeated within
 * and across batches; top-ups with odd amounts, reasons and keys; malformed bodies). Whatever
 * is sent: no 5xx, every refusal is a problem+json 4xx, and after each run the books balance —
 * each accepted event is stored once, and reconciliation leaves every balance at its grants
 * minus the metered cost. Bounded by RUNS × REQUESTS; a failure names its seed.
 */
const RUNS = 6;
const REQUESTS = 30;
const SEED = Number(process.env.EDGE_PROPERTIES_SEED ?? 20261122);
const MAX_COST = 1_000_000;
const DAY = 86_400_000;
const config = testConfig({
  credits: { ...testConfig().credits, maxTopUp: 1_000_000_000, maxCost: MAX_COST, storeTimeoutMs: 2_000 },
  routes: [
    { method: 'POST', path: '/payments', cost: 10, chargeOn: 'request', onStoreError: 'deny' },
    { method: 'GET', path: '/accounts', cost: 2, chargeOn: 'request', onStoreError: 'deny' },
  ],
});
/** What an api.call in the source format (no cost, no decision) is priced at: the rules above, else the default 1. */
const priceOf = (method: string, endpoint: string): number =>
  method === 'POST' && endpoint === '/payments' ? 10 : method === 'GET' && endpoint === '/accounts' ? 2 : 1;

let events: TestEvents;
let sidecar: TestSidecar;
let store: MemoryCreditStore;

beforeAll(async () => {
  events = await createTestEvents();
  store = new MemoryCreditStore({ restored: true });
  sidecar = await createTestSidecar({
    store,
    config,
    emitter: events.bus,
    ingestLimits: { maxBodyBytes: 256 * 1024, window: { maxAgeMs: 31 * DAY, maxAheadMs: 5 * 60_000 } },
  });
});
afterAll(async () => {
  await events?.close();
  await closeTestClickHouse();
});

/** What one run expects: the first accepted copy of each (source, id), and the grants that were applied. */
interface Books {
  subjects: string[];
  accepted: Map<string, { subject: string; cost: number }>;
  granted: Map<string, number>;
  topUps: Map<string, string>;
}

const deep = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};

const NUMBERS = [0, 1, 5, MAX_COST, MAX_COST + 1, 2 ** 53, Number.MAX_SAFE_INTEGER, -1, 1.5, 1e308, -0];
const STRINGS = ['', 'x', 'ünïcødé', '\u0000', '\ud800', '💸'.repeat(50), 'a'.repeat(300), '<script>', '"; DROP TABLE events; --'];

/** An event: mostly valid api.call events, with every attribute sometimes odd. */
const generateEvent = (r: Random, books: Books, previous: Obj[]): Obj => {
  if (previous.length > 0 && r.chance(0.15)) return r.pick(previous); // an exact resend (same id, same time)
  const now = Date.now();
  const time = r.pickWeighted<unknown>([
    [8, new Date(now - r.int(0, 20 * DAY)).toISOString()],
    [1, new Date(now + 60_000).toISOString()],
    [1, new Date(now + 10 * 60_000).toISOString()],
    [1, new Date(now - 40 * DAY).toISOString()],
    [1, '2026-02-30T10:00:00Z'],
    [1, '0001-01-01T00:00:00Z'],
    [1, 'yesterday'],
    [1, now],
    [1, undefined],
    [1, null],
  ]);
  const subject = r.pickWeighted<unknown>([
    [10, r.pick(books.subjects)],
    [1, 'not a subject'],
    [1, ''],
    [1, 42],
  ]);
  const data = r.pickWeighted<unknown>([
    [8, { endpoint: r.pick(['/accounts', '/payments', '/x']), method: r.pick(['GET', 'POST']), status_code: 200, response_time_ms: r.int(0, 500), cost: r.chance(0.7) ? r.int(0, 20) : r.pick(NUMBERS), decision: r.pick(['debited', 'unverified', 'free', 'refunded', 'bogus']) }],
    [3, { endpoint: r.pick(['/accounts', '/payments', '/x']), method: r.pick(['GET', 'POST']), status_code: 200, response_time_ms: 3 }],
    [1, { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 1, cost: 1, decision: 'debited', nested: deep(r.pick([5, 40, 2_000])) }],
    [1, Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, r.pick(STRINGS)]))],
    [1, r.pick(STRINGS)],
    [1, [1, 2, 3]],
    [1, null],
  ]);
  const event: Obj = {
    specversion: r.pickWeighted<unknown>([[12, '1.0'], [1, '0.3'], [1, 1]]),
    type: r.pickWeighted<unknown>([[8, 'api.call'], [2, 'tokens.used'], [1, ''], [1, r.pick(STRINGS)]]),
    source: r.pickWeighted<unknown>([[10, 'edge-properties'], [1, r.pick(STRINGS)]]),
    id: r.pickWeighted<unknown>([[12, `e-${r.int(0, 1e12)}`], [1, ''], [1, r.pick(STRINGS)], [1, 7]]),
    subject,
    data,
  };
  if (time !== undefined) event.time = time;
  return event;
};

type Obj = Record<string, unknown>;

/** The events a 204 accepted, as the books count them: the first copy of each (source, id). */
const bookAccepted = (books: Books, sent: Obj[]) => {
  for (const e of sent) {
    const key = `${String(e.source)}\u0000${String(e.id)}`;
    if (books.accepted.has(key)) continue;
    const data = (e.data ?? {}) as Obj;
    const cost = e.type !== 'api.call' ? 0 : typeof data.cost === 'number' ? data.cost : priceOf(String(data.method), String(data.endpoint));
    books.accepted.set(key, { subject: String(e.subject), cost });
  }
};

const ingestRequest = (r: Random, books: Books, previous: Obj[]) => {
  const batch = Array.from({ length: r.int(1, 12) }, () => generateEvent(r, books, previous));
  // A repeat within the batch, sometimes.
  if (r.chance(0.2)) batch.push(r.pick(batch));
  const single = batch.length === 1 && r.chance(0.5);
  const raw = r.pickWeighted<string | undefined>([
    [12, undefined],
    [1, '{"specversion":"1.0",'],
    [1, '[1e999]'],
    [1, '\ufeff[]'],
    [1, `${'['.repeat(20_000)}${']'.repeat(20_000)}`],
  ]);
  const type = r.pickWeighted([
    [8, single ? 'application/cloudevents+json' : 'application/cloudevents-batch+json'],
    [2, 'application/json'],
    [1, 'text/plain'],
  ]);
  return { batch, single, raw, type };
};

const topUpRequest = (r: Random, books: Books) => {
  const subject = r.pickWeighted([[10, r.pick(books.subjects)], [1, 'bad subject'], [1, '%2e%2e']]);
  const key = r.pickWeighted<string | string[] | undefined>([
    [8, `k-${r.int(0, 6)}`],
    [1, undefined],
    [1, ''],
    [1, 'A, B'],
    [1, 'é'],
    [1, 'x'.repeat(300)],
  ]);
  const amount = r.pickWeighted<unknown>([[10, r.int(1, 1_000)], [2, r.pick(NUMBERS)], [1, '10'], [1, null], [1, deep(100)]]);
  const body = r.pickWeighted<string>([
    [10, JSON.stringify({ amount, reason: r.pick(STRINGS) })],
    [1, JSON.stringify({ amount, reason: 'x', extra: true })],
    [1, '{"amount":'],
    [1, '{"amount":1e400}'],
  ]);
  return { subject, key, body };
};

const expectCleanAnswer = async (res: Response, what: string) => {
  expect(res.status, what).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get('content-type'), what).toBe('application/problem+json');
    expect(((await res.json()) as { status: number }).status, what).toBe(res.status);
  }
};

/** The decisions the sidecar emitted for these subjects, from the bus (source quota-sidecar). */
const authorizeEvents = (subjects: string[]) => {
  const out = new Map<string, { events: number; cost: number }>();
  for (const e of events.delivered) {
    if (e.source !== 'quota-sidecar' || !subjects.includes(String(e.subject))) continue;
    const d = out.get(String(e.subject)) ?? { events: 0, cost: 0 };
    out.set(String(e.subject), { events: d.events + 1, cost: d.cost + Number((e.data as { cost: number }).cost) });
  }
  return out;
};

const metered = async (subjects: string[]) => {
  const ch = await testClickHouse();
  const result = await ch.query({
    query: `SELECT subject, count() AS events, toString(sum(cost)) AS cost, uniqExact(source, id) AS unique FROM events
      WHERE subject IN {subjects:Array(String)} GROUP BY subject`,
    query_params: { subjects },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ subject: string; events: string; cost: string; unique: string }>();
  return new Map(rows.map((row) => [row.subject, { events: Number(row.events), cost: Number(row.cost), unique: Number(row.unique) }]));
};

describe('the ingest and admin edges under generated input', () => {
  it.each(Array.from({ length: RUNS }, (_, i) => SEED + i))('seed %i: no 5xx, refusals are problem+json, the books balance', async (seed) => {
    const r = seededRandom(seed);
    const books: Books = { subjects: [0, 1, 2].map((i) => `tpp-prop-${seed}-${i}`), accepted: new Map(), granted: new Map(), topUps: new Map() };
    const previous: Obj[] = [];

    const authorized = new Map<string, number>();
    for (let i = 0; i < REQUESTS; i++) {
      if (r.chance(0.2)) {
        // The authorize API, with paths spelt every way a client might: each allowed call is debited and metered.
        const subject = r.pickWeighted([[10, r.pick(books.subjects)], [1, 'bad subject']]);
        const path = r.pick(['/payments', '//payments', '/PAYMENTS', '/a/../payments', '/%70ayments', '/payments;x', '/a%2Fb', '/accounts?x=1', '/accounts/', '/x', 'payments']);
        const method = r.pick(['GET', 'POST', 'HEAD', 'get', 'G ET']);
        const res = await sidecar.app.request('http://sidecar/v1/authorize', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ subject, method, path }),
        });
        await expectCleanAnswer(res.clone(), `seed ${seed} request ${i}: authorize ${method} ${path}`);
        if (res.status === 200) {
          const { cost } = (await res.json()) as { cost: number };
          authorized.set(subject, (authorized.get(subject) ?? 0) + cost);
        }
      } else if (r.chance(0.65)) {
        const { batch, single, raw, type } = ingestRequest(r, books, previous);
        const body = raw ?? JSON.stringify(single ? batch[0] : batch);
        const res = await sidecar.app.request('http://sidecar/api/v1/events', {
          method: 'POST',
          headers: { 'content-type': type, authorization: `Bearer ${ADMIN_TOKEN}` },
          body,
        });
        await expectCleanAnswer(res.clone(), `seed ${seed} request ${i}: ingest ${body.slice(0, 200)}`);
        if (res.status === 204) {
          expect(raw, `seed ${seed} request ${i}: a malformed body was accepted`).toBeUndefined();
          bookAccepted(books, batch);
        }
        previous.push(...batch);
      } else {
        const { subject, key, body } = topUpRequest(r, books);
        const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };
        if (typeof key === 'string') headers['idempotency-key'] = key;
        const res = await sidecar.app.request(`http://sidecar/admin/v1/subjects/${encodeURIComponent(subject)}/credits`, { method: 'POST', headers, body });
        await expectCleanAnswer(res.clone(), `seed ${seed} request ${i}: top-up ${subject} ${String(key)} ${body.slice(0, 200)}`);
        if (res.status === 201) {
          const { amount } = (await res.json()) as { amount: number };
          books.granted.set(subject, (books.granted.get(subject) ?? 0) + amount);
          books.topUps.set(`${subject}\u0000${String(key)}`, body);
        }
      }
    }

    // 1. Every accepted event is stored once, and only those (the authorize decisions are events too).
    const expected = new Map<string, { events: number; cost: number }>();
    for (const { subject, cost } of books.accepted.values()) {
      const e = expected.get(subject) ?? { events: 0, cost: 0 };
      expected.set(subject, { events: e.events + 1, cost: e.cost + cost });
    }
    // The bus has delivered every decision emitted before its flush.
    await events.bus.flush();
    const decisions = authorizeEvents(books.subjects);
    for (const [subject, d] of decisions) {
      const e = expected.get(subject) ?? { events: 0, cost: 0 };
      expected.set(subject, { events: e.events + d.events, cost: e.cost + d.cost });
      // Every debit the sidecar answered 200 for is in its events: what was charged was metered.
      expect(d.cost, `seed ${seed}: ${subject} authorize debits metered`).toBe(authorized.get(subject) ?? 0);
    }
    const total = [...expected.values()].reduce((n, e) => n + e.events, 0);
    const stored = await waitFor(
      async () => {
        const rows = await metered(books.subjects);
        return [...rows.values()].reduce((n, row) => n + row.events, 0) >= total ? rows : undefined;
      },
      { what: `seed ${seed}: ${total} accepted events stored`, timeoutMs: 20_000 },
    );
    for (const subject of books.subjects) {
      const row = stored.get(subject) ?? { events: 0, cost: 0, unique: 0 };
      expect(row, `seed ${seed}: ${subject} stored each accepted event once`).toEqual({ ...(expected.get(subject) ?? { events: 0, cost: 0 }), unique: row.events });
    }

    // 2. Reconciliation: balance = grants − metered cost, for every subject of the run.
    const summary = await reconcileSubjects({ clickhouse: await testClickHouse(), store, subjects: books.subjects, watermarkMinute: epochMinute(Date.now() + 10 * 60_000) });
    expect(summary.outOfRange).toEqual([]);
    for (const subject of books.subjects) {
      expect(await store.balance(subject), `seed ${seed}: ${subject} balance`).toBe((books.granted.get(subject) ?? 0) - (expected.get(subject)?.cost ?? 0));
    }
  });
});
