import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMinute, MemoryCreditStore } from '@tollgate/core/credits';
import { reconcileSubjects } from '@tollgate/core/ledger';
import { ADMIN_TOKEN, closeTestClickHouse, createTestEvents, createTestSidecar, testClickHouse, testConfig, uniqueSubject, type TestEvents, type TestSidecar } from '@tollgate/testkit/sidecar-fixture';

/**
 * What an attacker or a careless client sends to the sidecar's HTTP edges, over a real socket
 * (so the fast path and Node's header handling are part of it): every refusal is a 4xx
 * problem+json, and nothing changes.
 */
const PROBLEM = 'application/problem+json';
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

let events: TestEvents;
let sidecar: TestSidecar;
let store: MemoryCreditStore;
let server: ServerType;
let port: number;

beforeAll(async () => {
  events = await createTestEvents();
  store = new MemoryCreditStore({ restored: true });
  sidecar = await createTestSidecar({ store, config: testConfig(), emitter: events.bus });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: sidecar.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      port = info.port;
      resolve();
    });
  });
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await events.close();
  await closeTestClickHouse();
});

/** One request with raw header lines: an array value is sent as that many lines of the field. */
const send = (method: string, path: string, headers: OutgoingHttpHeaders, body?: string) =>
  new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });

const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

describe('hostile request bodies', () => {
  const subject = uniqueSubject();
  const deep = nested(9_000);
  const cases: [string, string, OutgoingHttpHeaders, string][] = [
    ['ingest: event data nested 9,000 levels', '/api/v1/events', { ...admin, 'content-type': 'application/cloudevents+json' },
      `{"specversion":"1.0","type":"api.call","source":"s","id":"deep","subject":"${subject}","data":${deep}}`],
    ['top-up: a nested field', `/admin/v1/subjects/${subject}/credits`, { ...admin, 'idempotency-key': 'deep' }, `{"amount":5,"reason":${deep}}`],
    ['authorize: a nested field', '/v1/authorize', { 'content-type': 'application/json' }, `{"subject":"${subject}","method":"GET","path":"/x","pad":${deep}}`],
  ];
  it.each(cases)('%s → 400 problem+json, nothing changes', async (_name, path, headers, body) => {
    const res = await send('POST', path, { ...headers, 'content-length': Buffer.byteLength(body) }, body);
    expect(res).toMatchObject({ status: 400, type: PROBLEM });
    // Ingest names the event and its rule; the other routes refuse the body as a whole.
    expect(JSON.parse(res.body)).toMatchObject({ status: 400, code: 'BAD_REQUEST', detail: expect.stringMatching(/nest/) });
    expect(await sidecar.balance(subject)).toBe(0);
  });
});

describe('repeated fields', () => {
  const topUp = (headers: OutgoingHttpHeaders, subject: string) => {
    const body = JSON.stringify({ amount: 5, reason: 'dup' });
    return send('POST', `/admin/v1/subjects/${subject}/credits`, { ...admin, ...headers, 'content-length': Buffer.byteLength(body) }, body);
  };

  it('refuses two Idempotency-Key fields with 400, granting nothing (not the key "A, B")', async () => {
    const subject = uniqueSubject();
    const res = await topUp({ 'idempotency-key': ['A', 'B'] }, subject);
    expect(res).toMatchObject({ status: 400, type: PROBLEM });
    expect(JSON.parse(res.body)).toMatchObject({ code: 'BAD_REQUEST', detail: 'The idempotency-key field was sent more than once; send it once.' });
    // One field that reads as two joined ones is refused as well.
    expect(await topUp({ 'idempotency-key': 'A, B' }, subject)).toMatchObject({ status: 400, type: PROBLEM });
    expect(await sidecar.balance(subject)).toBe(0);
    expect((await topUp({ 'idempotency-key': 'A' }, subject)).status).toBe(201);
    expect(await sidecar.balance(subject)).toBe(5);
  });

  it.each([
    ['two subject fields', { 'x-tpp-id': ['SUBJECT', 'tpp-other'], 'x-original-method': 'GET', 'x-original-uri': '/accounts' }],
    ['two original URIs', { 'x-tpp-id': 'SUBJECT', 'x-original-method': 'GET', 'x-original-uri': ['/status', '/payments'] }],
    ['two original methods', { 'x-tpp-id': 'SUBJECT', 'x-original-method': ['GET', 'POST'], 'x-original-uri': '/payments' }],
  ])('refuses forward-auth with %s with 400, debiting nobody', async (_name, fields) => {
    const subject = uniqueSubject();
    expect((await sidecar.topUp(subject, 20)).status).toBe(201);
    const headers = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => x.replace('SUBJECT', subject)) : v.replace('SUBJECT', subject)]));
    for (const path of ['/v1/authorize', '/v1/authorize?via=hono']) {
      const res = await send('GET', path, headers);
      expect(res).toMatchObject({ status: 400, type: PROBLEM });
    }
    expect(await sidecar.balance(subject)).toBe(20);
  });
});

describe('amounts that would overflow', () => {
  it('refuses five ingests of api.call events costing 2^53 - 1: the balance stays 10 after reconciliation', async () => {
    const subject = uniqueSubject();
    expect((await sidecar.topUp(subject, 10)).status).toBe(201);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify({
        specversion: '1.0',
        type: 'api.call',
        source: 'overflow',
        id: `overflow-${subject}-${i}`,
        time: hourAgo,
        subject,
        data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 1, cost: Number.MAX_SAFE_INTEGER, decision: 'debited' },
      });
      const res = await send('POST', '/api/v1/events', { ...admin, 'content-type': 'application/cloudevents+json', 'content-length': Buffer.byteLength(body) }, body);
      expect(res).toMatchObject({ status: 400, type: PROBLEM });
    }
    const summary = await reconcileSubjects({ clickhouse: await testClickHouse(), store, subjects: [subject], watermarkMinute: epochMinute(Date.now()) + 1 });
    expect(summary).toMatchObject({ applied: 1, outOfRange: [] });
    expect(await sidecar.balance(subject)).toBe(10);
  });
});
