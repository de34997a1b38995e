import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { closeTestClickHouse, createTestEvents, createTestSidecar, testConfig, type TestEvents, type TestSidecar } from './sidecar-fixture.ts';
import { waitFor } from './wait-for.ts';

/**
 * OpenMeter's meter API (list, get, query) over configured meters, answered from this file's
 * embedded ClickHouse after a known set of events was ingested through the API: the fixture of
 * the meter API's tests (test/openmeter-meters.test.ts, test/openmeter-meter-query.test.ts).
 */
export const NOW = Date.parse('2026-02-01T08:00:00.000Z');
export const DEFINED_AT = '2026-02-01T08:00:00.000Z';
export const PROBLEM = 'application/problem+json';
const config = testConfig({
  meters: [
    {
      slug: 'api_calls',
      description: 'API call count per TPP',
      eventType: 'api.call',
      aggregation: 'COUNT',
      groupBy: { subject: true, endpoint: '$.data.endpoint', method: '$.data.method' },
    },
    {
      slug: 'api_latency',
      eventType: 'api.call',
      valueProperty: '$.data.response_time_ms',
      aggregation: 'SUM',
      groupBy: { subject: true, endpoint: '$.data.endpoint' },
    },
    { slug: 'prompt_tokens', eventType: 'prompt', valueProperty: '$.data.usage.tokens', aggregation: 'MAX', groupBy: { model: '$.data.model' } },
  ],
});

// A test file's ClickHouse holds only these events, so the subjects can be fixed names.
export const ALPHA = 'tpp-alpha';
export const BETA = 'tpp-beta';
const call = (subject: string, time: string, endpoint: string, method: string, ms: number) => ({
  specversion: '1.0',
  type: 'api.call',
  source: 'meters-test',
  id: randomUUID(),
  time,
  subject,
  data: { endpoint, method, status_code: 200, response_time_ms: ms, cost: 1, decision: 'debited' },
});
export const EVENTS = [
  call(ALPHA, '2026-01-15T10:00:10.000Z', '/accounts', 'GET', 10),
  call(ALPHA, '2026-01-15T10:00:50.000Z', '/accounts', 'GET', 20),
  call(ALPHA, '2026-01-15T10:01:05.000Z', '/accounts', 'GET', 30),
  call(ALPHA, '2026-01-15T10:30:00.000Z', '/payments', 'POST', 100),
  call(ALPHA, '2026-01-15T11:15:00.000Z', '/accounts', 'GET', 40),
  call(ALPHA, '2026-01-16T00:30:00.000Z', '/accounts', 'GET', 50),
  call(BETA, '2026-01-15T10:00:20.000Z', '/accounts', 'GET', 5),
  call(BETA, '2026-01-15T23:30:00.000Z', '/payments', 'POST', 7),
];
export const RANGE = 'from=2026-01-15T00:00:00Z&to=2026-01-17T00:00:00Z';

export interface QueryBody {
  from?: string;
  to?: string;
  windowSize?: string;
  data: { value: number; windowStart: string; windowEnd: string; subject: string | null; groupBy: Record<string, string | null> }[];
}

// Live bindings: set by useSeededMeters before the file's tests run.
export let events: TestEvents;
export let sidecar: TestSidecar;

export const get = (path: string, headers: Record<string, string> = {}) => sidecar.admin(path, { headers });
/** A meter query that must answer 200 with JSON. */
export const query = async (slug: string, params: string): Promise<QueryBody> => {
  const res = await get(`/api/v1/meters/${slug}/query?${params}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as QueryBody;
};

/** Before the test file's tests, a sidecar with the meters above, once EVENTS are ingested through its API and all in ClickHouse. */
export const useSeededMeters = (): void => {
  beforeAll(async () => {
    events = await createTestEvents();
    sidecar = await createTestSidecar({ store: new MemoryCreditStore({ restored: true }), config, emitter: events.bus, now: () => NOW });
    const res = await sidecar.admin('/api/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(EVENTS),
    });
    expect(res.status).toBe(204);
    await waitFor(
      async () => {
        const body = await query('api_calls', RANGE);
        return body.data[0]?.value === EVENTS.length;
      },
      { what: 'every seeded event in ClickHouse' },
    );
  });
  afterAll(async () => {
    await events?.close();
    await closeTestClickHouse();
  });
};
