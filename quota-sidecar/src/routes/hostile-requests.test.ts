import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore } from '@tollgate/core';
import { ADMIN_TOKEN, closeTestClickHouse, createTestEvents, createTestSidecar, testConfig, uniqueSubject, type TestEvents, type TestSidecar } from '../testing/sidecar-fixture.ts';

/**
 * What an attacker or a careless client sends to the sidecar's HTTP edges, over a real socket
 * (so the fast path and Node's header handling are part of it): every refusal is a 4xx
 * problem+json, and nothing changes.
 */
const PROBLEM = 'application/problem+json';
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

let events: TestEvents;
let sidecar: TestSidecar;
let server: ServerType;
let port: number;

beforeAll(async () => {
  events = await createTestEvents();
  sidecar = await createTestSidecar({ store: new MemoryCreditStore(), config: testConfig(), emitter: events.bus });
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
