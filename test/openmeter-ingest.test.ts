import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore, metrics } from '@tollgate/core';
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
} from '../quota-sidecar/src/testing/sidecar-fixture.ts';
import { waitFor } from './harness/wait-for.ts';

/**
 * OpenMeter's ingest (POST /api/v1/events) through the sidecar app, with the single-process
 * producer path: the in-process bus and its sink into this file's embedded ClickHouse.
 */
const NOW = Date.parse('2026-01-15T12:00:00.000Z');
const MAX_BODY = 8 * 1024;
const PROBLEM = 'application/problem+json';
const config = testConfig({
  limits: { maxBodyBytes: MAX_BODY },
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
    sidecar = await createTestSidecar({ store: new MemoryCreditStore(), config, emitter: events.bus, now: () => NOW });
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

  const ingested = async () => (await metrics.eventsIngested.get()).values.find((v) => v.labels.type === 'api.call')?.value ?? 0;

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
      { value: 2, windowStart: '2026-01-15T10:00:00Z', windowEnd: '2026-01-15T10:00:00Z', subject, groupBy: { endpoint: '/accounts' } },
      { value: 1, windowStart: '2026-01-15T10:00:00Z', windowEnd: '2026-01-15T10:00:00Z', subject, groupBy: { endpoint: '/payments' } },
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
      detail: 'Event 6 is invalid: subject must match [A-Za-z0-9._:-]{1,128}. 1 of 10 events are invalid; none of this request was accepted.',
      invalidEvents: [{ index: 6, reason: 'subject must match [A-Za-z0-9._:-]{1,128}' }],
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
    const res = await ingest([
      apiCall(subject, { specversion: '0.3' }),
      apiCall(subject),
      apiCall(subject, { time: 'yesterday' }),
      apiCall(subject, { data: { endpoint: '/a', method: 'GET', status_code: 200, response_time_ms: 1, cost: -1, decision: 'debited' } }),
      'not an event',
      apiCall(subject, { id: '' }),
    ]);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { invalidEvents: unknown }).invalidEvents).toEqual([
      { index: 0, reason: 'specversion must be "1.0"' },
      { index: 2, reason: 'time must be an RFC 3339 timestamp' },
      { index: 3, reason: 'data.cost must be a non-negative integer' },
      { index: 4, reason: 'not a JSON object' },
      { index: 5, reason: 'id must be a string of 1 to 256 characters' },
    ]);
  });

  it('takes events of any type, not only api.call', async () => {
    const other = { specversion: '1.0', type: 'prompt', source: 'llm', id: newId(), subject: uniqueSubject(), data: { tokens: 12 } };
    expect((await ingest(other, 'application/cloudevents+json')).status).toBe(204);
    await waitFor(async () => (await storedIds([other.id])).length === 1, { what: 'the prompt event stored' });
  });

  it('answers an empty batch 204 and emits nothing', async () => {
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

  it('refuses a body over limits.maxBodyBytes with 413, declared or streamed, and emits nothing', async () => {
    const subject = uniqueSubject();
    const batch = Array.from({ length: 60 }, () => apiCall(subject));
    const body = JSON.stringify(batch);
    expect(body.length).toBeGreaterThan(MAX_BODY);
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
