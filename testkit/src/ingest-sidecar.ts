import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import { metrics } from '@tollgate/core/metrics';
import { MemoryCreditStore } from '@tollgate/core/credits';
import {
  ADMIN_TOKEN,
  closeTestClickHouse,
  createTestEvents,
  createTestSidecar,
  testClickHouse,
  testConfig,
  type TestEvents,
  type TestSidecar,
} from './sidecar-fixture.ts';
import { waitFor } from './wait-for.ts';

/**
 * OpenMeter's ingest (POST /api/v1/events) through the sidecar app, with the single-process
 * producer path: the in-process bus and its sink into the test file's embedded ClickHouse. The
 * fixture of test/openmeter-ingest.test.ts and test/openmeter-ingest-refusals.test.ts.
 */
export const NOW = Date.parse('2026-01-15T12:00:00.000Z');
export const MAX_BODY = 8 * 1024;
export const INGEST_MAX_BODY = 512 * 1024;
export const DAY = 86_400_000;
export const PROBLEM = 'application/problem+json';
export const config = testConfig({
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

export const newId = (): string => randomUUID();
export const apiCall = (subject: string, overrides: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  type: 'api.call',
  source: 'ingest-test',
  id: newId(),
  time: '2026-01-15T10:00:00.000Z',
  subject,
  data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 12, cost: 1, decision: 'debited' },
  ...overrides,
});

export type Row = { value: number; subject: string | null; groupBy: Record<string, string | null> };

// Live bindings: set by useIngestSidecar before the file's tests run.
export let events: TestEvents;
export let sidecar: TestSidecar;

/** Starts the sidecar of the ingest tests, with the ingest limits above, before the test file's tests; stops it after. */
export const useIngestSidecar = (): void => {
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
    await events?.close();
    await closeTestClickHouse();
  });
};

export const ingest = (body: unknown, type = 'application/cloudevents-batch+json', token = ADMIN_TOKEN) =>
  sidecar.app.request('http://sidecar/api/v1/events', {
    method: 'POST',
    headers: { 'content-type': type, authorization: `Bearer ${token}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** Rows of api_calls for one subject, grouped by endpoint. */
export const usage = async (subject: string): Promise<Row[]> => {
  const res = await sidecar.admin(`/api/v1/meters/api_calls/query?subject=${subject}&groupBy=endpoint`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Row[] }).data;
};
export const countOf = async (subject: string) => (await usage(subject)).reduce((n, r) => n + r.value, 0);

/** Events of `ids` the bus carried; the bus delivers in emit order, so once `marker` is there, anything emitted before it is too. */
export const deliveredAfter = async (marker: string, ids: Set<string>) => {
  await waitFor(() => events.delivered.some((e) => e.id === marker), { what: `event ${marker} on the bus` });
  return events.delivered.filter((e) => ids.has(e.id));
};
export const storedIds = async (ids: string[]) => {
  const ch = await testClickHouse();
  const result = await ch.query({ query: 'SELECT id FROM events WHERE id IN {ids:Array(String)}', query_params: { ids }, format: 'JSONEachRow' });
  return (await result.json<{ id: string }>()).map((r) => r.id);
};

export const ingested = async (origin = 'ingest-api') => (await metrics.eventsIngested.get()).values.find((v) => v.labels.origin === origin)?.value ?? 0;
export const stored = async (id: string) => {
  const ch = await testClickHouse();
  const result = await ch.query({ query: 'SELECT cost, decision, data FROM events WHERE id = {id:String}', query_params: { id }, format: 'JSONEachRow' });
  return (await result.json<{ cost: string; decision: string; data: string }>()).map((r) => ({ cost: Number(r.cost), decision: r.decision, data: JSON.parse(r.data) as unknown }));
};
