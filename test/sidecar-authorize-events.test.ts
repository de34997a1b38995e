import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CloudEventV1 } from 'cloudevents';
import { epochMinute, MemoryCreditStore, type CreditStore } from '@tollgate/core/credits';
import type { EventEmitter } from '@tollgate/core/events';
import {
  closeTestClickHouse,
  createTestEvents,
  createTestSidecar,
  openStore,
  testConfig,
  uniqueSubject,
  type StoreKind,
  type TestEvents,
  type TestSidecar,
} from '@tollgate/testkit/sidecar-fixture';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * Every authorize decision of the sidecar is metered as one api.call event on the producer
 * path, stamped with the instant whose minute was debited; without these, reconciliation would
 * count every sidecar debit as drift.
 */
const config = testConfig({
  credits: { ...testConfig().credits, onStoreError: 'deny' },
  routes: [
    { method: 'POST', path: '/payments', cost: 5, chargeOn: 'request', onStoreError: 'deny' },
    { method: 'GET', path: '/status', cost: 0, chargeOn: 'request', onStoreError: 'deny' },
    { method: 'GET', path: '/accounts/:id/balances', cost: 2, chargeOn: 'request', onStoreError: 'allow' },
  ],
  meters: [{ slug: 'api_calls', eventType: 'api.call', aggregation: 'COUNT', groupBy: { subject: true, decision: '$.data.decision' } }],
});

type Event = CloudEventV1<{ endpoint: string; method: string; status_code: number; response_time_ms: number; cost: number; decision: string }>;

/** A clock that jumps over a minute boundary at every reading: a decision that read it twice would stamp another minute than it debited. */
const jumpingClock = () => {
  let t = Date.parse('2026-03-01T09:00:59.990Z');
  return () => {
    const now = t;
    t += 60_000;
    return now;
  };
};

/** A store whose debits fail for the subjects in `down`, as an unreachable Valkey would. */
const failingFor = (inner: CreditStore, down: Set<string>): CreditStore => ({
  kind: inner.kind,
  debit: (subject, cost, minute) => (down.has(subject) ? Promise.reject(new Error('connection refused')) : inner.debit(subject, cost, minute)),
  refund: (subject, cost, minute, requestId) => inner.refund(subject, cost, minute, requestId),
  claimGrant: (subject, key, bodyHash) => inner.claimGrant(subject, key, bodyHash),
  applyGrant: (subject, key, bodyHash, amount) => inner.applyGrant(subject, key, bodyHash, amount),
  balance: (subject) => inner.balance(subject),
  realtimeBuckets: (subject) => inner.realtimeBuckets(subject),
  reconcile: (subject, request) => inner.reconcile(subject, request),
  confirmChanges: (subject, changeIds) => inner.confirmChanges(subject, changeIds),
  meteredCharges: (subject) => inner.meteredCharges(subject),
  account: (subject) => inner.account(subject),
  restoreStatus: () => inner.restoreStatus(),
  beginRestore: () => inner.beginRestore(),
  completeRestore: (token) => inner.completeRestore(token),
  ping: () => inner.ping(),
  close: () => inner.close(),
});

afterAll(closeTestClickHouse);

describe.each<StoreKind>(['valkey', 'memory'])('authorize decisions as api.call events, %s store', (kind) => {
  let store: CreditStore;
  let events: TestEvents;
  let sidecar: TestSidecar;
  const down = new Set<string>();

  beforeAll(async () => {
    store = await openStore(kind, inject('valkeyUrl'));
    events = await createTestEvents();
    sidecar = await createTestSidecar({ store: failingFor(store, down), config, emitter: events.bus, now: jumpingClock() });
  });
  afterAll(async () => {
    await events.close();
    await store.close();
  });

  const funded = async (amount: number) => {
    const subject = uniqueSubject();
    expect((await sidecar.topUp(subject, amount)).status).toBe(201);
    return subject;
  };
  const post = (subject: string, method: string, path: string) =>
    sidecar.app.request('http://sidecar/v1/authorize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject, method, path }),
    });
  const forward = (headers: Record<string, string>, path = '/v1/authorize', method = 'GET') =>
    sidecar.app.request(`http://sidecar${path}`, { method, headers });

  /** The events emitted so far for `subject`: flushing the bus delivers everything emitted before it. */
  const eventsOf = async (subject: string): Promise<Event[]> => {
    await events.bus.flush();
    return events.delivered.filter((e) => e.subject === subject).map((e) => JSON.parse(JSON.stringify(e)) as Event);
  };
  const one = async (subject: string): Promise<Event> => {
    const found = await eventsOf(subject);
    expect(found).toHaveLength(1);
    const [event] = found;
    if (!event) throw new Error('no event');
    return event;
  };

  it('emits one debited event with the cost, the normalised route and 200', async () => {
    const subject = await funded(10);
    expect((await post(subject, 'post', '/%70ayments?amount=10')).status).toBe(200);
    const event = await one(subject);
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'api.call',
      source: 'quota-sidecar',
      subject,
      datacontenttype: 'application/json',
      data: { endpoint: '/payments', method: 'POST', status_code: 200, cost: 5, decision: 'debited' },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.data?.response_time_ms).toBeGreaterThanOrEqual(0);
  });

  it('stamps the event with the instant whose minute was debited', async () => {
    const subject = await funded(10);
    expect((await post(subject, 'GET', '/accounts')).status).toBe(200);
    const event = await one(subject);
    const minute = epochMinute(Date.parse(event.time ?? ''));
    expect(Object.fromEntries(await store.realtimeBuckets(subject))).toEqual({ [minute]: 1 });
  });

  it('emits a denied event owing 0 with 429 when credits are short, and debits nothing', async () => {
    const subject = await funded(3);
    expect((await post(subject, 'POST', '/payments')).status).toBe(429);
    expect((await one(subject)).data).toMatchObject({ endpoint: '/payments', method: 'POST', status_code: 429, cost: 0, decision: 'denied' });
    expect(await store.balance(subject)).toBe(3);
  });

  it('emits a free event for a cost-0 route', async () => {
    const subject = uniqueSubject();
    expect((await post(subject, 'GET', '/status')).status).toBe(200);
    expect((await one(subject)).data).toMatchObject({ endpoint: '/status', status_code: 200, cost: 0, decision: 'free' });
  });

  it('emits an unverified event owing the cost when the store fails under allow, and a denied one with 503 under deny', async () => {
    const subject = uniqueSubject();
    down.add(subject);
    try {
      expect((await post(subject, 'GET', '/accounts/acc-1/balances')).status).toBe(200);
      expect((await post(subject, 'GET', '/accounts')).status).toBe(503);
    } finally {
      down.delete(subject);
    }
    expect((await eventsOf(subject)).map((e) => e.data)).toEqual([
      expect.objectContaining({ endpoint: '/accounts/acc-1/balances', status_code: 200, cost: 2, decision: 'unverified' }),
      expect.objectContaining({ endpoint: '/accounts', status_code: 503, cost: 0, decision: 'denied' }),
    ]);
  });

  it('meters the forward-auth form by the original method and URI, with the real status behind the nginx 403', async () => {
    const subject = await funded(5);
    const headers = { 'x-tpp-id': subject, 'x-original-method': 'POST', 'x-original-uri': '/payments/../payments?x=1' };
    expect((await forward(headers)).status).toBe(200);
    const refused = await forward({ ...headers, 'x-tollgate-auth-mode': 'nginx' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-tollgate-status')).toBe('429');
    expect((await eventsOf(subject)).map((e) => e.data)).toEqual([
      expect.objectContaining({ endpoint: '/payments', method: 'POST', status_code: 200, cost: 5, decision: 'debited' }),
      expect.objectContaining({ endpoint: '/payments', method: 'POST', status_code: 429, cost: 0, decision: 'denied' }),
    ]);
  });

  it("meters Envoy's path-prefix form by the path behind the prefix", async () => {
    const subject = await funded(5);
    expect((await forward({ 'x-tpp-id': subject }, '/v1/authorize/accounts/acc-9?limit=1', 'DELETE')).status).toBe(200);
    expect((await one(subject)).data).toMatchObject({ endpoint: '/accounts/acc-9', method: 'DELETE', cost: 1, decision: 'debited' });
  });

  it('emits nothing for a request refused before any decision (no subject, bad input)', async () => {
    const subject = uniqueSubject();
    expect((await forward({ 'x-original-method': 'GET', 'x-original-uri': '/accounts' })).status).toBe(401);
    expect((await forward({ 'x-tpp-id': subject, 'x-original-method': 'GET' })).status).toBe(400);
    expect((await post(subject, 'GET', 'no-slash')).status).toBe(400);
    expect(await eventsOf(subject)).toEqual([]);
  });

  it('emits exactly one event per decision, each with its own id, and they reach the meter', async () => {
    const subject = await funded(4);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push((await post(subject, 'GET', '/accounts')).status);
    expect(answers).toEqual([200, 200, 200, 200, 429, 429]);
    const emitted = await eventsOf(subject);
    expect(emitted.map((e) => e.data?.decision)).toEqual(['debited', 'debited', 'debited', 'debited', 'denied', 'denied']);
    expect(new Set(emitted.map((e) => e.id)).size).toBe(6);
    expect(emitted.reduce((n, e) => n + (e.data?.cost ?? 0), 0)).toBe(4);

    const usage = async () => {
      const res = await sidecar.admin(`/api/v1/meters/api_calls/query?subject=${subject}&groupBy=decision`);
      return ((await res.json()) as { data: { value: number; groupBy: { decision: string } }[] }).data.map((r) => [r.groupBy.decision, r.value]);
    };
    await waitFor(async () => JSON.stringify(await usage()) === JSON.stringify([['debited', 4], ['denied', 2]]), { what: 'the decisions in the meter' });
  });
});

describe('authorize and ingest while events cannot be recorded', () => {
  it('refuse with 503 before debiting when the emitter is not accepting (spool full under deny)', async () => {
    const emitted: unknown[] = [];
    const full: EventEmitter & { accepting: boolean } = {
      accepting: false,
      emit: (e) => void emitted.push(e),
      flush: async () => {},
      close: async () => {},
    };
    const store = new MemoryCreditStore({ restored: true });
    const sidecar = await createTestSidecar({ store, config, emitter: full });
    const subject = uniqueSubject();
    expect((await sidecar.topUp(subject, 10)).status).toBe(201);

    const res = await sidecar.app.request('http://sidecar/v1/authorize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject, method: 'GET', path: '/accounts' }),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    const nginx = await sidecar.app.request('http://sidecar/v1/authorize', {
      headers: { 'x-tpp-id': subject, 'x-original-method': 'GET', 'x-original-uri': '/accounts', 'x-tollgate-auth-mode': 'nginx' },
    });
    expect(nginx.status).toBe(403);
    expect(nginx.headers.get('x-tollgate-status')).toBe('503');

    const ingestOne = () =>
      sidecar.admin('/api/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({ specversion: '1.0', type: 'prompt', source: 's', id: 'e-1', subject }),
      });
    expect((await ingestOne()).status).toBe(503);
    expect(emitted).toEqual([]);
    expect(await store.balance(subject)).toBe(10);

    full.accepting = true;
    expect((await ingestOne()).status).toBe(204);
    expect(emitted).toHaveLength(1);
  });

  it('without an emitter, answers decisions unmetered and does not serve ingest', async () => {
    const sidecar = await createTestSidecar({ store: new MemoryCreditStore({ restored: true }), config });
    const ingest = await sidecar.admin('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: '{}' });
    expect(ingest.status).toBe(404);
    const authorize = await sidecar.app.request('http://sidecar/v1/authorize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'tpp-1', method: 'GET', path: '/status' }),
    });
    expect(authorize.status).toBe(200);
  });
});
