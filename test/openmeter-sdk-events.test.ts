import { randomUUID } from 'node:crypto';
import type { OpenMeter } from '@openmeter/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { closeTestClickHouse, createTestEvents, testConfig, type TestEvents } from '@tollgate/testkit/sidecar-fixture';
import { present, startSdkSidecar, type SdkSidecar } from '@tollgate/testkit/sdk-sidecar';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * Conformance, part 4: `GET /api/v1/events` through @openmeter/sdk (pinned): the stored events,
 * newest first, each with the validation errors of every meter of its type, and OpenMeter's
 * filters. Every answer is computed from the events sent.
 */
const NOW = Date.parse('2026-01-20T12:00:00.000Z');
const config = testConfig({
  meters: [
    { slug: 'api_calls', eventType: 'api.call', aggregation: 'COUNT' },
    { slug: 'api_latency', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.response_time_ms' },
    { slug: 'api_latency_max', eventType: 'api.call', aggregation: 'MAX', valueProperty: '$.data.response_time_ms' },
    { slug: 'tokens', eventType: 'prompt', aggregation: 'SUM', valueProperty: '$.usage.tokens' },
    { slug: 'models', eventType: 'prompt', aggregation: 'UNIQUE_COUNT', valueProperty: '$.model' },
  ],
});

const RUN = randomUUID().slice(0, 8);
const A = `tpp-a-${RUN}`;
const B = `tpp-b-${RUN}`;
interface Sent {
  id: string;
  type: string;
  subject: string;
  time: string;
  data: Record<string, unknown>;
  /** The validation error OpenMeter's listing shows for it, from the meters above. */
  error?: string;
}
const call = (id: string, subject: string, time: string, ms?: number): Sent => ({
  id: `${id}-${RUN}`,
  type: 'api.call',
  subject,
  time,
  data: { endpoint: '/accounts', method: 'GET', status_code: 200, ...(ms === undefined ? {} : { response_time_ms: ms }), cost: 1, decision: 'debited' },
  ...(ms === undefined
    ? { error: 'meter api_latency: missing value property "$.response_time_ms"\nmeter api_latency_max: missing value property "$.response_time_ms"' }
    : {}),
});
const SENT: Sent[] = [
  call('call-1', A, '2026-01-15T10:00:00.000Z', 12),
  call('call-2', A, '2026-01-15T10:05:00.000Z'),
  call('call-3', B, '2026-01-16T08:00:00.000Z', 30),
  { id: `prompt-1-${RUN}`, type: 'prompt', subject: A, time: '2026-01-16T09:00:00.000Z', data: { model: 'gpt', usage: { tokens: 5 } } },
  {
    id: `prompt-2-${RUN}`,
    type: 'prompt',
    subject: B,
    time: '2026-01-17T09:00:00.000Z',
    data: { model: { name: 'gpt' }, usage: { tokens: 'many' } },
    error: 'meter tokens: value property "$.usage.tokens" is not a number: "many"\nmeter models: value property "$.model" is an object, not a scalar',
  },
  { id: `prompt-3-${RUN}`, type: 'prompt', subject: A, time: '2026-01-18T09:00:00.000Z', data: { model: 'o1', usage: { tokens: null } }, error: 'meter tokens: value property "$.usage.tokens" is null' },
  { id: `other-1-${RUN}`, type: 'page.view', subject: B, time: '2026-01-19T09:00:00.000Z', data: { path: '/' }, error: 'no meter found for event type: page.view' },
];
const newestFirst = [...SENT].sort((x, y) => y.time.localeCompare(x.time));

describe('OpenMeter conformance through @openmeter/sdk: events listing', () => {
  let events: TestEvents;
  let served: SdkSidecar;
  let om: OpenMeter;
  let sentAt: number;
  let storedBy: number;

  beforeAll(async () => {
    events = await createTestEvents();
    served = await startSdkSidecar({ store: new MemoryCreditStore({ restored: true }), config, emitter: events.bus, now: () => NOW });
    om = served.om;
    sentAt = Date.now();
    await om.events.ingest(SENT.map((s) => ({ type: s.type, source: 'listing-test', id: s.id, subject: s.subject, time: new Date(s.time), data: s.data })));
    await waitFor(async () => (await om.events.list({ subject: RUN }))?.length === SENT.length, { what: 'every event stored' });
    storedBy = Date.now();
  });
  afterAll(async () => {
    await served.close();
    await events.close();
    await closeTestClickHouse();
  });

  type Listed = Awaited<ReturnType<OpenMeter['events']['list']>>;
  const ids = (list: Listed) => present(list, 'events').map((e) => e.event.id);

  it('lists the events newest first, as stored, each with the validation errors of the meters of its type', async () => {
    const list = present(await om.events.list({ subject: RUN }), 'events');
    expect(list.map((e) => ({ event: e.event, validationError: e.validationError }))).toEqual(
      newestFirst.map((s) => ({
        event: { specversion: '1.0', id: s.id, source: 'listing-test', type: s.type, subject: s.subject, time: new Date(s.time), datacontenttype: 'application/json', data: s.data },
        validationError: s.error,
      })),
    );
    for (const e of list) {
      expect(e.ingestedAt.getTime()).toBeGreaterThanOrEqual(sentAt - 1000);
      expect(e.ingestedAt.getTime()).toBeLessThanOrEqual(storedBy + 1000);
      expect(e.storedAt).toEqual(e.ingestedAt);
    }
  });

  it('filters by subject and id (both partial), by event time (from and to inclusive) and limits the answer', async () => {
    expect(ids(await om.events.list({ subject: A }))).toEqual(newestFirst.filter((s) => s.subject === A).map((s) => s.id));
    expect(ids(await om.events.list({ id: `prompt-` , subject: RUN }))).toEqual(newestFirst.filter((s) => s.id.startsWith('prompt-')).map((s) => s.id));
    const from = '2026-01-15T10:05:00.000Z';
    const to = '2026-01-17T09:00:00.000Z';
    expect(ids(await om.events.list({ subject: RUN, from: new Date(from), to: new Date(to) }))).toEqual(
      newestFirst.filter((s) => s.time >= from && s.time <= to).map((s) => s.id),
    );
    expect(ids(await om.events.list({ subject: RUN, limit: 2 }))).toEqual(newestFirst.slice(0, 2).map((s) => s.id));
  });

  it('filters by when the events were stored (ingestedAtFrom, ingestedAtTo)', async () => {
    expect(await om.events.list({ subject: RUN, ingestedAtFrom: new Date(sentAt - 1000) })).toHaveLength(SENT.length);
    expect(await om.events.list({ subject: RUN, ingestedAtTo: new Date(sentAt - 60_000) })).toEqual([]);
    expect(await om.events.list({ subject: RUN, ingestedAtFrom: new Date(storedBy + 60_000) })).toEqual([]);
  });

  it('refuses what OpenMeter refuses: a limit outside 1–100, from older than 32 days, to before from, an unknown parameter', async () => {
    const problems = async (query: string) => {
      const res = await served.sidecar.admin(`/api/v1/events?${query}`);
      expect(res.status).toBe(400);
      return ((await res.json()) as { invalidParameters: string[] }).invalidParameters;
    };
    expect(await problems('limit=0')).toEqual(['limit must be an integer from 1 to 100; got "0".']);
    expect(await problems('limit=101&to=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z')).toEqual([
      'limit must be an integer from 1 to 100; got "101".',
      'to must not be before from.',
    ]);
    expect(await problems('from=2025-12-01T00:00:00Z')).toEqual(['from must be at most 32 days ago (after 2025-12-19T12:00:00.000Z).']);
    expect(await problems('customerId=01G65Z755AFWAKHE12NY0CQ9FH&subjects=x')).toEqual([
      'customerId is not supported: Tollgate has no customers; filter by subject.',
      'subjects is not a parameter of this list.',
    ]);
    await expect(om.events.list({ limit: 0 })).rejects.toMatchObject({ status: 400 });
  });
});
