import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, uniqueSubject } from '@tollgate/testkit/sidecar-fixture';
import {
  sidecar,
  ingest,
  countOf,
  deliveredAfter,
  storedIds,
  ingested,
  apiCall,
  INGEST_MAX_BODY,
  PROBLEM,
  useIngestSidecar,
} from '@tollgate/testkit/ingest-sidecar';
import { waitFor } from '@tollgate/testkit/wait-for';

/** OpenMeter's ingest through the sidecar app: what it refuses, and that a refused request emits and stores nothing (testkit/src/ingest-sidecar.ts). */
useIngestSidecar();

describe('POST /api/v1/events', () => {
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
