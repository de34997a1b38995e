import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '@tollgate/core/metrics';
import { MemoryCreditStore } from '@tollgate/core/credits';
import {
  ADMIN_TOKEN,
  closeTestClickHouse,
  createTestEvents,
  createTestSidecar,
  testClickHouse,
  testConfig,
  uniqueSubject,
  type TestEvents,
  type TestSidecar,
} from '@tollgate/testkit/sidecar-fixture';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * OpenMeter's ingest (POST /api/v1/events) through the sidecar app, with the single-process
 * producer path: the in-process bus and its sink into this file's embedded ClickHouse.
 */
const NOW = Date.parse('2026-01-15T12:00:00.000Z');
const MAX_BODY = 8 * 1024;
const INGEST_MAX_BODY = 512 * 1024;
const DAY = 86_400_000;
const PROBLEM = 'application/problem+json';
const config = testConfig({
  limits: { maxBodyBytes: MAX_BODY },
  credits: { ...testConfig().credits, defaultCost: 2 },
  routes: [
    { method: 'GET', path: '/accounts/:id/transactions', cost: 3, chargeOn: 'request', onStoreError: 'deny' },
    { method: 'POST', path: '/payments', cost: 10, chargeOn: 'request', onStoreError: 'deny' },
  ],
  meters: [
    {
      slug: 'api_calls',
      eventType: 'api.call',
      aggregation: 'COUNT',
      groupBy: { subject: true, endpoint: '$.data.endpoint', method: '$.data.method' },
    },
  ],
});

const newId = (): string => randomUUID();
const apiCall = (subject: string, overrides: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  type: 'api.call',
  source: 'ingest-test',
  id: newId(),
  time: '2026-01-15T10:00:00.000Z',
  subject,
  data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 12, cost: 1, decision: 'debited' },
  ...overrides,
});

type Row = { value: number; subject: string | null; groupBy: Record<string, string | null> };

describe('POST /api/v1/events', () => {
  let events: TestEvents;
  let sidecar: TestSidecar;

  beforeAll(async () => {
    events = await createTestEvents();
    sidecar = await createTestSidecar({
      store: new MemoryCreditStore({ restored: true }),
      config,
      emitter: events.bus,
      now: () => NOW,
      ingestLimits: { maxBodyBytes: INGEST_MAX_BODY, window: { maxAgeMs: 31 * DAY, maxAheadMs: 5 * 60_000 } },
    });
  });
  afterAll(async () => {
    await events.close();
    await closeTestClickHouse();
  });

  const ingest = (body: unknown, type = 'application/cloudevents-batch+json', token = ADMIN_TOKEN) =>
    sidecar.app.request('http://sidecar/api/v1/events', {
      method: 'POST',
      headers: { 'content-type': type, authorization: `Bearer ${token}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** Rows of api_calls for one subject, grouped by endpoint. */
  const usage = async (subject: string): Promise<Row[]> => {
    const res = await sidecar.admin(`/api/v1/meters/api_calls/query?subject=${subject}&groupBy=endpoint`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: Row[] }).data;
  };
  const countOf = async (subject: string) => (await usage(subject)).reduce((n, r) => n + r.value, 0);

  /** Events of `ids` the bus carried; the bus delivers in emit order, so once `marker` is there, anything emitted before it is too. */
  const deliveredAfter = async (marker: string, ids: Set<string>) => {
    await waitFor(() => events.delivered.some((e) => e.id === marker), { what: `event ${marker} on the bus` });
    return events.delivered.filter((e) => ids.has(e.id));
  };
  const storedIds = async (ids: string[]) => {
    const ch = await testClickHouse();
    const result = await ch.query({ query: 'SELECT id FROM events WHERE id IN {ids:Array(String)}', query_params: { ids }, format: 'JSONEachRow' });
    return (await result.json<{ id: string }>()).map((r) => r.id);
  };

  const ingested = async (origin = 'ingest-api') => (await metrics.eventsIngested.get()).values.find((v) => v.labels.origin === origin)?.value ?? 0;
  const stored = async (id: string) => {
    const ch = await testClickHouse();
    const result = await ch.query({ query: 'SELECT cost, decision, data FROM events WHERE id = {id:String}', query_params: { id }, format: 'JSONEachRow' });
    return (await result.json<{ cost: string; decision: string; data: string }>()).map((r) => ({ cost: Number(r.cost), decision: r.decision, data: JSON.parse(r.data) as unknown }));
  };

  it('takes one event as application/cloudevents+json, 204, and it is counted by the meter', async () => {
    const subject = uniqueSubject();
    const before = await ingested();
    const res = await ingest(apiCall(subject), 'application/cloudevents+json');
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(await ingested()).toBe(before + 1);
    await waitFor(async () => (await countOf(subject)) === 1, { what: 'the event in the meter' });
  });

  it('takes a batch as application/cloudevents-batch+json, a charset parameter included', async () => {
    const subject = uniqueSubject();
    const batch = [apiCall(subject), apiCall(subject, { data: { ...apiCall(subject).data, endpoint: '/payments', method: 'POST' } }), apiCall(subject)];
    expect((await ingest(batch, 'application/cloudevents-batch+json; charset=utf-8')).status).toBe(204);
    await waitFor(async () => (await countOf(subject)) === 3, { what: 'three events in the meter' });
    expect(await usage(subject)).toEqual([
      { value: 2, windowStart: '2026-01-15T10:00:00Z', windowEnd: '2026-01-15T12:00:00Z', subject, groupBy: { endpoint: '/accounts' } },
      { value: 1, windowStart: '2026-01-15T10:00:00Z', windowEnd: '2026-01-15T12:00:00Z', subject, groupBy: { endpoint: '/payments' } },
    ]);
  });

  it('takes application/json as one event or as an array', async () => {
    const subject = uniqueSubject();
    expect((await ingest(apiCall(subject), 'application/json')).status).toBe(204);
    expect((await ingest([apiCall(subject), apiCall(subject)], 'application/json')).status).toBe(204);
    await waitFor(async () => (await countOf(subject)) === 3, { what: 'three events in the meter' });
  });

  it('passes each event on as sent, and stamps a missing or null time with the arrival time', async () => {
    const subject = uniqueSubject();
    const sent = apiCall(subject, { time: undefined, datacontenttype: 'application/json', traceparent: '00-abc-def-01' });
    const nullTime = apiCall(subject, { time: null });
    expect((await ingest([sent, nullTime])).status).toBe(204);
    const ids = new Set([sent.id, nullTime.id]);
    await waitFor(() => events.delivered.filter((e) => ids.has(e.id)).length === 2, { what: 'both events on the bus' });
    const [first, second] = events.delivered.filter((e) => ids.has(e.id));
    expect(first).toEqual({ ...JSON.parse(JSON.stringify(sent)), time: '2026-01-15T12:00:00.000Z' });
    expect(second).toMatchObject({ id: nullTime.id, time: '2026-01-15T12:00:00.000Z' });
    const window = `/api/v1/meters/api_calls/query?subject=${subject}&from=2026-01-15T12:00:00Z&to=2026-01-15T12:00:01Z`;
    await waitFor(async () => ((await (await sidecar.admin(window)).json()) as { data: Row[] }).data[0]?.value === 2, {
      what: 'both events at the arrival time',
    });
  });

  it('counts a batch ingested twice once: (source, id) identifies an event', async () => {
    const subject = uniqueSubject();
    const batch = Array.from({ length: 5 }, () => apiCall(subject));
    expect((await ingest(batch)).status).toBe(204);
    await waitFor(async () => (await countOf(subject)) === 5, { what: 'the first delivery in the meter' });

    expect((await ingest(batch)).status).toBe(204);
    const marker = apiCall(subject, { data: { ...apiCall(subject).data, endpoint: '/marker' } });
    expect((await ingest([marker])).status).toBe(204);
    await waitFor(async () => (await usage(subject)).some((r) => r.groupBy.endpoint === '/marker'), { what: 'the marker in the meter' });

    // The second copy did reach the sink, which stored nothing new.
    expect(await deliveredAfter(marker.id, new Set(batch.map((e) => e.id)))).toHaveLength(10);
    expect(await usage(subject)).toEqual([
      expect.objectContaining({ value: 5, groupBy: { endpoint: '/accounts' } }),
      expect.objectContaining({ value: 1, groupBy: { endpoint: '/marker' } }),
    ]);
    expect((await storedIds(batch.map((e) => e.id))).sort()).toEqual(batch.map((e) => e.id).sort());
  });

  it('refuses a batch of 10 with one invalid event whole: 400 naming it, and none of the 10 is emitted or stored', async () => {
    const subject = uniqueSubject();
    const batch = Array.from({ length: 10 }, () => apiCall(subject));
    batch[6] = apiCall(subject, { subject: 'not a subject' });
    const before = await ingested();

    const res = await ingest(batch);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe(PROBLEM);
    expect(await res.json()).toEqual({
      type: 'https://tollgate.dev/problems/bad-request',
      title: 'Bad request',
      status: 400,
      code: 'BAD_REQUEST',
      detail: `Event 6 (id "${batch[6]?.id}") is invalid: subject must match [A-Za-z0-9._:-]{1,128}. 1 of 10 events are invalid; none of this request was accepted.`,
      invalidEvents: [{ index: 6, id: batch[6]?.id, reason: 'subject must match [A-Za-z0-9._:-]{1,128}' }],
    });
    expect(await ingested()).toBe(before);

    const marker = apiCall(subject);
    expect((await ingest([marker])).status).toBe(204);
    expect(await deliveredAfter(marker.id, new Set(batch.map((e) => e.id)))).toEqual([]);
    await waitFor(async () => (await countOf(subject)) === 1, { what: 'the marker in the meter' });
    expect(await storedIds(batch.map((e) => e.id))).toEqual([]);
  });

  it('names every invalid event, each with its reason', async () => {
    const subject = uniqueSubject();
    const sent = [
      apiCall(subject, { specversion: '0.3' }),
      apiCall(subject),
      apiCall(subject, { time: 'yesterday' }),
      apiCall(subject, { data: { endpoint: '/a', method: 'GET', status_code: 200, response_time_ms: 1, cost: -1, decision: 'debited' } }),
      'not an event',
      apiCall(subject, { id: '' }),
    ];
    const res = await ingest(sent);
    expect(res.status).toBe(400);
    const idOf = (i: number) => (sent[i] as { id: string }).id;
    expect(((await res.json()) as { invalidEvents: unknown }).invalidEvents).toEqual([
      { index: 0, id: idOf(0), reason: 'specversion must be "1.0"' },
      { index: 2, id: idOf(2), reason: 'time must be an RFC 3339 date-time naming a real instant, such as 2026-01-15T10:30:00.123Z' },
      { index: 3, id: idOf(3), reason: 'data.cost must be a non-negative integer' },
      { index: 4, reason: 'not a JSON object' },
      { index: 5, reason: 'id must be a string of 1 to 256 characters of Unicode text' },
    ]);
  });

  it('takes events of any type, not only api.call', async () => {
    const other = { specversion: '1.0', type: 'prompt', source: 'llm', id: newId(), subject: uniqueSubject(), data: { tokens: 12 } };
    expect((await ingest(other, 'application/cloudevents+json')).status).toBe(204);
    await waitFor(async () => (await storedIds([other.id])).length === 1, { what: 'the prompt event stored' });
  });

  it('answers an empty batch 204 and emits nothing', async () => {
    // What earlier tests emitted may still be on its way to the recording subscriber (it runs after the sink's write).
    await events.bus.flush();
    const before = events.delivered.length;
    expect((await ingest([])).status).toBe(204);
    await events.bus.flush();
    expect(events.delivered.length).toBe(before);
  });

  it.each([
    ['text/plain', 'text/plain', JSON.stringify([]), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['no content type', '', JSON.stringify([]), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['application/cloudevents+jsonx', 'application/cloudevents+jsonx', JSON.stringify({}), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['an array as application/cloudevents+json', 'application/cloudevents+json', JSON.stringify([]), 400, 'BAD_REQUEST'],
    ['an object as application/cloudevents-batch+json', 'application/cloudevents-batch+json', JSON.stringify({}), 400, 'BAD_REQUEST'],
    ['malformed JSON', 'application/cloudevents-batch+json', '[{"specversion":', 400, 'BAD_REQUEST'],
    ['an empty body', 'application/json', '', 400, 'BAD_REQUEST'],
  ])('refuses %s with %i problem+json', async (_name, type, body, status, code) => {
    const res = await sidecar.app.request('http://sidecar/api/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(type ? { 'content-type': type } : {}) },
      body,
    });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe(PROBLEM);
    expect(await res.json()).toMatchObject({ status, code });
  });

  it('refuses a body over its own limit (INGEST_MAX_BODY_BYTES) with 413, declared or streamed, and emits nothing', async () => {
    const subject = uniqueSubject();
    const batch = Array.from({ length: 2_000 }, () => apiCall(subject));
    const body = JSON.stringify(batch);
    expect(body.length).toBeGreaterThan(INGEST_MAX_BODY);
    const declared = await ingest(batch);
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });

    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        controller.close();
      },
    });
    const streamed = await sidecar.app.request('http://sidecar/api/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/cloudevents-batch+json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);

    const marker = apiCall(subject);
    expect((await ingest([marker])).status).toBe(204);
    expect(await deliveredAfter(marker.id, new Set(batch.map((e) => e.id)))).toEqual([]);
  });

  it('takes a batch of 1,000 events (about 270 KB) far above the admin API limit: the ingest limit is its own', async () => {
    const subject = uniqueSubject();
    const batch = Array.from({ length: 1_000 }, () => apiCall(subject));
    expect(JSON.stringify(batch).length).toBeGreaterThan(30 * MAX_BODY);
    expect((await ingest(batch)).status).toBe(204);
    await waitFor(async () => (await countOf(subject)) === 1_000, { what: '1,000 events in the meter' });
    // The admin API keeps limits.maxBodyBytes.
    const admin = await sidecar.admin(`/admin/v1/subjects/${subject}/credits`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': newId() },
      body: JSON.stringify({ amount: 1, reason: 'x'.repeat(MAX_BODY) }),
    });
    expect(admin.status).toBe(413);
  });

  it('prices an api.call in the source format by the route rules (the default when none matches) and records it as metered', async () => {
    const subject = uniqueSubject();
    const source = (endpoint: string, method: string) => ({
      specversion: '1.0',
      type: 'api.call',
      source: 'open-banking-api',
      id: newId(),
      time: '2026-01-15T11:00:00.000Z',
      subject,
      data: { endpoint, method, status_code: 200, response_time_ms: 45 },
    });
    const sent = [
      source('/accounts/acc-1/transactions', 'GET'),
      source('/payments', 'post'),
      source('/accounts', 'GET'),
      // Normalised as the gateway prices it: the duplicate slash and the dot segment resolve to /payments.
      source('//payments/./', 'POST'),
    ];
    const before = await ingested();
    expect((await ingest(sent)).status).toBe(204);
    expect(await ingested()).toBe(before + 4);
    await waitFor(async () => (await storedIds(sent.map((e) => e.id))).length === 4, { what: 'the four events stored' });
    expect(await Promise.all(sent.map(async (e) => (await stored(e.id))[0]))).toEqual([
      { cost: 3, decision: 'metered', data: { ...sent[0]?.data, cost: 3, decision: 'metered' } },
      { cost: 10, decision: 'metered', data: { ...sent[1]?.data, cost: 10, decision: 'metered' } },
      { cost: 2, decision: 'metered', data: { ...sent[2]?.data, cost: 2, decision: 'metered' } },
      { cost: 10, decision: 'metered', data: { ...sent[3]?.data, cost: 10, decision: 'metered' } },
    ]);
  });

  it.each([
    ['data_base64 with an XML content type', { data: undefined, data_base64: 'PHhtbC8+', datacontenttype: 'application/xml' }, 'data_base64 is not accepted: data must be a JSON object or null'],
    ['data that is a string', { data: '<xml/>' }, 'data must be a JSON object or null'],
    ['a day that does not exist', { time: '2026-02-30T10:00:00Z' }, 'time must be an RFC 3339 date-time naming a real instant, such as 2026-01-15T10:30:00.123Z'],
    ['the year 1', { time: '0001-01-01T00:00:00Z' }, 'time must be from 1900 to 2299'],
    ['the year 1899', { time: '1899-06-01T00:00:00Z' }, 'time must be from 1900 to 2299'],
    ['a time ten years ahead', { time: '2036-01-15T12:00:00Z' }, 'time must be at most 5 minutes after the event arrives'],
    ['a time 32 days old', { time: '2025-12-14T12:00:00Z' }, 'time must be at most 31 days before the event arrives'],
    [
      'a cost above credits.maxCost',
      { data: { endpoint: '/a', method: 'GET', status_code: 200, response_time_ms: 1, cost: 9007199254740991, decision: 'debited' } },
      'data.cost must be at most 1000000 (credits.maxCost)',
    ],
  ])('refuses %s with 400 naming the event and the rule, and stores nothing', async (_name, overrides, reason) => {
    const event = apiCall(uniqueSubject(), overrides);
    const res = await ingest([apiCall(uniqueSubject()), event]);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe(PROBLEM);
    const body = (await res.json()) as { detail: string; invalidEvents: unknown };
    expect(body.detail).toBe(`Event 1 (id "${event.id}") is invalid: ${reason}. 1 of 2 events are invalid; none of this request was accepted.`);
    expect(body.invalidEvents).toEqual([{ index: 1, id: event.id, reason }]);
  });

  it('refuses data nested 9,000 levels deep (under 64 KB) with 400, not a crash', async () => {
    const deep = `${'{"a":'.repeat(9_000)}1${'}'.repeat(9_000)}`;
    const body = `[{"specversion":"1.0","type":"tokens","source":"s","id":"deep-1","subject":"tpp-deep","data":${deep}}]`;
    expect(body.length).toBeLessThan(64 * 1024);
    const res = await ingest(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { invalidEvents: unknown }).invalidEvents).toEqual([{ index: 0, id: 'deep-1', reason: 'data must not nest deeper than 32 levels' }]);
  });

  it('counts the authorize decisions of the sidecar as ingested, origin quota-sidecar', async () => {
    const subject = uniqueSubject();
    const before = await ingested('quota-sidecar');
    const res = await sidecar.app.request('http://sidecar/v1/authorize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject, method: 'GET', path: '/accounts' }),
    });
    expect(res.status).toBe(429);
    expect(await ingested('quota-sidecar')).toBe(before + 1);
  });

  it('needs a bearer token of ADMIN_TOKENS', async () => {
    const subject = uniqueSubject();
    const event = apiCall(subject);
    const missing = await sidecar.app.request('http://sidecar/api/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(event),
    });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await ingest(event, 'application/cloudevents+json', 'wrong-token')).status).toBe(401);

    const marker = apiCall(subject);
    expect((await ingest([marker])).status).toBe(204);
    expect(await deliveredAfter(marker.id, new Set([event.id]))).toEqual([]);
  });
});
