import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { OpenMeter } from '@openmeter/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore } from '@tollgate/core/credits';
import {
  ADMIN_TOKEN,
  closeTestClickHouse,
  createTestEvents,
  createTestSidecar,
  testConfig,
  type TestEvents,
  type TestSidecar,
} from '@tollgate/testkit/sidecar-fixture';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * Conformance: the sidecar driven over HTTP by OpenMeter's own published JS client
 * (`@openmeter/sdk`, pinned), with events in our users' source format and in Tollgate's. Every
 * answer is checked against values computed here from the events sent.
 */
const NOW = Date.parse('2026-01-20T12:00:00.000Z');
const config = testConfig({
  routes: [{ method: 'POST', path: '/payments', cost: 10, chargeOn: 'request', onStoreError: 'deny' }],
  meters: [
    // OpenMeter's path form and ours, side by side.
    { slug: 'api_calls', eventType: 'api.call', aggregation: 'COUNT', groupBy: { endpoint: '$.endpoint', method: '$.data.method' } },
    { slug: 'api_latency', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.response_time_ms', groupBy: { endpoint: '$.endpoint' } },
    { slug: 'api_cost', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.data.cost' },
  ],
});

interface Sent {
  subject: string;
  time: Date;
  endpoint: string;
  method: string;
  ms: number;
}
const A = `tpp-a-${randomUUID()}`;
const B = `tpp-b-${randomUUID()}`;
const at = (iso: string) => new Date(iso);
const CALLS: Sent[] = [
  { subject: A, time: at('2026-01-15T10:00:10Z'), endpoint: '/accounts', method: 'GET', ms: 10 },
  { subject: A, time: at('2026-01-15T10:00:50Z'), endpoint: '/accounts', method: 'GET', ms: 20 },
  { subject: A, time: at('2026-01-15T10:01:05Z'), endpoint: '/payments', method: 'POST', ms: 30 },
  { subject: A, time: at('2026-01-15T23:30:00Z'), endpoint: '/accounts', method: 'GET', ms: 40 },
  { subject: B, time: at('2026-01-15T10:00:20Z'), endpoint: '/accounts', method: 'GET', ms: 5 },
  { subject: B, time: at('2026-01-16T01:00:00Z'), endpoint: '/payments', method: 'POST', ms: 7 },
];
/** The source format of our users' documents: no cost, no decision. */
const sourceEvent = (c: Sent) => ({
  type: 'api.call',
  source: 'open-banking-api',
  id: randomUUID(),
  subject: c.subject,
  time: c.time,
  data: { endpoint: c.endpoint, method: c.method, status_code: 200, response_time_ms: c.ms },
});
const priceOf = (c: Sent) => (c.method === 'POST' && c.endpoint === '/payments' ? 10 : 1);

describe('OpenMeter conformance through @openmeter/sdk', () => {
  let events: TestEvents;
  let sidecar: TestSidecar;
  let server: ServerType;
  let om: OpenMeter;
  const batch = CALLS.slice(1).map(sourceEvent);

  beforeAll(async () => {
    events = await createTestEvents();
    sidecar = await createTestSidecar({ store: new MemoryCreditStore({ restored: true }), config, emitter: events.bus, now: () => NOW });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: sidecar.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    om = new OpenMeter({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: ADMIN_TOKEN });
    // One event alone, the rest as a batch, and the batch again: (source, id) counts each once.
    const [first] = CALLS;
    if (!first) throw new Error('no calls');
    await om.events.ingest(sourceEvent(first));
    await om.events.ingest(batch);
    await om.events.ingest(batch);
    await waitFor(async () => (await om.meters.query('api_calls', { subject: [A, B] })).data.reduce((n, r) => n + r.value, 0) === CALLS.length, {
      what: 'every event in the meter',
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await events.close();
    await closeTestClickHouse();
  });

  const subjects = { subject: [A, B] };
  type QueryResult = Awaited<ReturnType<OpenMeter['meters']['query']>>;
  const rows = (data: { value: number; windowStart: Date; windowEnd: Date; subject: string | null; groupBy: Record<string, string | null> }[]) =>
    data.map((r) => [r.windowStart.toISOString(), r.windowEnd.toISOString(), r.subject, r.groupBy, r.value]);

  it('lists and gets the meters, in OpenMeter\'s path form whichever form they were configured in', async () => {
    const list = (await om.meters.list()) ?? [];
    expect(list.map((m) => [m.slug, m.aggregation, m.eventType, m.valueProperty, m.groupBy])).toEqual([
      ['api_calls', 'COUNT', 'api.call', undefined, { endpoint: '$.endpoint', method: '$.method' }],
      ['api_latency', 'SUM', 'api.call', '$.response_time_ms', { endpoint: '$.endpoint' }],
      ['api_cost', 'SUM', 'api.call', '$.cost', {}],
    ]);
    expect(await om.meters.get('api_latency')).toMatchObject({ id: 'api_latency', slug: 'api_latency', valueProperty: '$.response_time_ms' });
  });

  it('counts the same batch sent twice once, and prices the source format by the route rules', async () => {
    // subject both filters and groups, as in OpenMeter.
    const total = await om.meters.query('api_calls', subjects);
    expect(total.data.map((r) => [r.subject, r.value])).toEqual([
      [A, CALLS.filter((c) => c.subject === A).length],
      [B, CALLS.filter((c) => c.subject === B).length],
    ]);
    const cost = await om.meters.query('api_cost', { ...subjects, groupBy: ['subject'] });
    const expected = (s: string) => CALLS.filter((c) => c.subject === s).reduce((n, c) => n + priceOf(c), 0);
    expect(cost.data.map((r) => [r.subject, r.value])).toEqual([
      [A, expected(A)],
      [B, expected(B)],
    ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))));
  });

  it('queries with every window size, grouped by subject and a data path', async () => {
    const from = at('2026-01-15T00:00:00Z');
    const to = at('2026-01-17T00:00:00Z');
    const minute = await om.meters.query('api_calls', { from, to, windowSize: 'MINUTE', subject: [A], groupBy: ['endpoint'] });
    expect(minute.windowSize).toBe('MINUTE');
    expect(rows(minute.data)).toEqual([
      ['2026-01-15T10:00:00.000Z', '2026-01-15T10:01:00.000Z', A, { endpoint: '/accounts' }, 2],
      ['2026-01-15T10:01:00.000Z', '2026-01-15T10:02:00.000Z', A, { endpoint: '/payments' }, 1],
      ['2026-01-15T23:30:00.000Z', '2026-01-15T23:31:00.000Z', A, { endpoint: '/accounts' }, 1],
    ]);
    const hour = await om.meters.query('api_latency', { from, to, windowSize: 'HOUR', subject: [A] });
    expect(rows(hour.data)).toEqual([
      ['2026-01-15T10:00:00.000Z', '2026-01-15T11:00:00.000Z', A, {}, 10 + 20 + 30],
      ['2026-01-15T23:00:00.000Z', '2026-01-16T00:00:00.000Z', A, {}, 40],
    ]);
    const day = await om.meters.query('api_calls', { from, to, windowSize: 'DAY', ...subjects });
    expect(rows(day.data)).toEqual([
      ['2026-01-15T00:00:00.000Z', '2026-01-16T00:00:00.000Z', A, {}, 4],
      ['2026-01-15T00:00:00.000Z', '2026-01-16T00:00:00.000Z', B, {}, 1],
      ['2026-01-16T00:00:00.000Z', '2026-01-17T00:00:00.000Z', B, {}, 1],
    ]);
    const month = await om.meters.query('api_calls', { windowSize: 'MONTH', ...subjects });
    expect(rows(month.data)).toEqual([
      ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', A, {}, 4],
      ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', B, {}, 2],
    ]);
    // Without a window, each row spans the query's range.
    const whole = await om.meters.query('api_calls', { from, to, ...subjects });
    expect(whole).toMatchObject({ from, to });
    expect(rows(whole.data)).toEqual([
      [from.toISOString(), to.toISOString(), A, {}, 4],
      [from.toISOString(), to.toISOString(), B, {}, 2],
    ]);
  });

  it('aligns windows in a time zone, for days and hours', async () => {
    // New York is UTC-5 in January: A's 23:30 UTC call is on its 15th, B's 01:00 UTC call too.
    const day = await om.meters.query('api_calls', { windowSize: 'DAY', windowTimeZone: 'America/New_York', ...subjects });
    expect(rows(day.data)).toEqual([
      ['2026-01-15T05:00:00.000Z', '2026-01-16T05:00:00.000Z', A, {}, 4],
      ['2026-01-15T05:00:00.000Z', '2026-01-16T05:00:00.000Z', B, {}, 2],
    ]);
    const hour = await om.meters.query('api_calls', { windowSize: 'HOUR', windowTimeZone: 'Asia/Kolkata', subject: [B] });
    expect(rows(hour.data)).toEqual([
      ['2026-01-15T09:30:00.000Z', '2026-01-15T10:30:00.000Z', B, {}, 1],
      ['2026-01-16T00:30:00.000Z', '2026-01-16T01:30:00.000Z', B, {}, 1],
    ]);
  });

  it('filters by group-by values with filterGroupBy, in GET and in the JSON body form', async () => {
    const get = await om.meters.query('api_calls', { ...subjects, filterGroupBy: { method: 'POST' } });
    expect(get.data.map((r) => [r.subject, r.value])).toEqual(expect.arrayContaining([[A, 1], [B, 1]]));
    const post = (await om.meters.queryPost('api_calls', { subject: [A, B], groupBy: ['method'], filterGroupBy: { endpoint: ['/accounts', '/payments'] } })) as QueryResult;
    const sorted = post.data.map((r) => [r.subject, r.groupBy.method, r.value]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    const expected = [A, B].flatMap((s) =>
      ['GET', 'POST'].map((m) => [s, m, CALLS.filter((c) => c.subject === s && c.method === m).length] as const),
    );
    expect(sorted).toEqual(expected.map((e) => [...e]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))));
  });

  it('answers the v3 query (granularity, group_by_dimensions, filters) over the same builder', async () => {
    const res = await sidecar.admin('/api/v3/openmeter/meters/api_latency/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        from: '2026-01-15T00:00:00Z',
        to: '2026-01-16T00:00:00Z',
        granularity: 'P1D',
        group_by_dimensions: ['subject', 'endpoint'],
        filters: { dimensions: { subject: { in: [A, B] }, endpoint: { eq: '/accounts' } } },
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      from: '2026-01-15T00:00:00Z',
      to: '2026-01-16T00:00:00Z',
      data: [
        { value: '70', from: '2026-01-15T00:00:00Z', to: '2026-01-16T00:00:00Z', dimensions: { subject: A, endpoint: '/accounts' } },
        { value: '5', from: '2026-01-15T00:00:00Z', to: '2026-01-16T00:00:00Z', dimensions: { subject: B, endpoint: '/accounts' } },
      ].sort((x, y) => x.dimensions.subject.localeCompare(y.dimensions.subject)),
    });
    const csv = await sidecar.admin('/api/v3/openmeter/meters/api_latency/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/csv' },
      body: JSON.stringify({ from: '2026-01-15T00:00:00Z', to: '2026-01-16T00:00:00Z', filters: { dimensions: { subject: { eq: B } } } }),
    });
    expect(await csv.text()).toBe(`from,to,subject,value\n2026-01-15T00:00:00Z,2026-01-16T00:00:00Z,${B},5.000000\n`);
    const bad = await sidecar.admin('/api/v3/openmeter/meters/api_latency/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ granularity: 'P1W', filters: { dimensions: { endpoint: { neq: '/a' } } } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { invalidParameters: string[] }).invalidParameters).toEqual([
      'granularity must be one of PT1M, PT1H, P1D, P1M; got "P1W".',
      'filters.dimensions.endpoint must have exactly one of eq or in (the only operators supported).',
    ]);
  });

  it('surfaces a refused event as the SDK\'s error, and stores none of that batch', async () => {
    const good = sourceEvent({ subject: A, time: at('2026-01-18T00:00:00Z'), endpoint: '/accounts', method: 'GET', ms: 1 });
    await expect(om.events.ingest([good, { ...good, id: randomUUID(), time: at('2020-01-01T00:00:00Z') }])).rejects.toMatchObject({ status: 400 });
    const after = await om.meters.query('api_calls', { subject: [A], from: at('2026-01-18T00:00:00Z'), to: at('2026-01-19T00:00:00Z') });
    expect(after.data).toEqual([]);
  });
});
