import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '@tollgate/core/metrics';
import { MemoryCreditStore } from '@tollgate/core/credits';
import {
  closeTestClickHouse,
  createTestEvents,
  createTestSidecar,
  testConfig,
  type TestEvents,
  type TestSidecar,
} from '@tollgate/testkit/sidecar-fixture';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * OpenMeter's meter API (list, get, query) over configured meters, answered from this file's
 * embedded ClickHouse after a known set of events was ingested through the API.
 */
const NOW = Date.parse('2026-02-01T08:00:00.000Z');
const DEFINED_AT = '2026-02-01T08:00:00.000Z';
const PROBLEM = 'application/problem+json';
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

// This file's ClickHouse holds only these events, so the subjects can be fixed names.
const ALPHA = 'tpp-alpha';
const BETA = 'tpp-beta';
const call = (subject: string, time: string, endpoint: string, method: string, ms: number) => ({
  specversion: '1.0',
  type: 'api.call',
  source: 'meters-test',
  id: randomUUID(),
  time,
  subject,
  data: { endpoint, method, status_code: 200, response_time_ms: ms, cost: 1, decision: 'debited' },
});
const EVENTS = [
  call(ALPHA, '2026-01-15T10:00:10.000Z', '/accounts', 'GET', 10),
  call(ALPHA, '2026-01-15T10:00:50.000Z', '/accounts', 'GET', 20),
  call(ALPHA, '2026-01-15T10:01:05.000Z', '/accounts', 'GET', 30),
  call(ALPHA, '2026-01-15T10:30:00.000Z', '/payments', 'POST', 100),
  call(ALPHA, '2026-01-15T11:15:00.000Z', '/accounts', 'GET', 40),
  call(ALPHA, '2026-01-16T00:30:00.000Z', '/accounts', 'GET', 50),
  call(BETA, '2026-01-15T10:00:20.000Z', '/accounts', 'GET', 5),
  call(BETA, '2026-01-15T23:30:00.000Z', '/payments', 'POST', 7),
];
const RANGE = 'from=2026-01-15T00:00:00Z&to=2026-01-17T00:00:00Z';

interface QueryBody {
  from?: string;
  to?: string;
  windowSize?: string;
  data: { value: number; windowStart: string; windowEnd: string; subject: string | null; groupBy: Record<string, string | null> }[];
}

describe('OpenMeter meter API', () => {
  let events: TestEvents;
  let sidecar: TestSidecar;

  const get = (path: string, headers: Record<string, string> = {}) => sidecar.admin(path, { headers });
  const query = async (slug: string, params: string): Promise<QueryBody> => {
    const res = await get(`/api/v1/meters/${slug}/query?${params}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    return (await res.json()) as QueryBody;
  };

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
    await events.close();
    await closeTestClickHouse();
  });

  describe('GET /api/v1/meters', () => {
    const apiCalls = {
      id: 'api_calls',
      slug: 'api_calls',
      name: 'api_calls',
      description: 'API call count per TPP',
      aggregation: 'COUNT',
      eventType: 'api.call',
      groupBy: { endpoint: '$.endpoint', method: '$.method' },
      windowSize: 'MINUTE',
      createdAt: DEFINED_AT,
      updatedAt: DEFINED_AT,
    };

    it('lists the configured meters as OpenMeter does, with paths into the event data', async () => {
      const res = await get('/api/v1/meters');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual([
        apiCalls,
        {
          id: 'api_latency',
          slug: 'api_latency',
          name: 'api_latency',
          aggregation: 'SUM',
          eventType: 'api.call',
          valueProperty: '$.response_time_ms',
          groupBy: { endpoint: '$.endpoint' },
          windowSize: 'MINUTE',
          createdAt: DEFINED_AT,
          updatedAt: DEFINED_AT,
        },
        {
          id: 'prompt_tokens',
          slug: 'prompt_tokens',
          name: 'prompt_tokens',
          aggregation: 'MAX',
          eventType: 'prompt',
          valueProperty: '$.usage.tokens',
          groupBy: { model: '$.model' },
          windowSize: 'MINUTE',
          createdAt: DEFINED_AT,
          updatedAt: DEFINED_AT,
        },
      ]);
    });

    it('gets one meter by its slug, and 404 problem+json for an unknown one', async () => {
      const res = await get('/api/v1/meters/api_calls');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(apiCalls);

      for (const path of ['/api/v1/meters/nope', '/api/v1/meters/nope/query', '/api/v1/meters/toString/query']) {
        const missing = await get(path);
        expect(missing.status).toBe(404);
        expect(missing.headers.get('content-type')).toBe(PROBLEM);
        expect(await missing.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
      }
    });

    it('needs a bearer token of ADMIN_TOKENS', async () => {
      for (const path of ['/api/v1/meters', '/api/v1/meters/api_calls', `/api/v1/meters/api_calls/query?${RANGE}`]) {
        const res = await sidecar.app.request(`http://sidecar${path}`);
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toBe(PROBLEM);
      }
    });
  });

  describe('GET /api/v1/meters/{meter}/query', () => {
    it('counts calls grouped by subject, endpoint and method over the range', async () => {
      const whole = { windowStart: '2026-01-15T00:00:00Z', windowEnd: '2026-01-17T00:00:00Z' };
      expect(await query('api_calls', `${RANGE}&groupBy=subject&groupBy=endpoint&groupBy=method`)).toEqual({
        from: '2026-01-15T00:00:00Z',
        to: '2026-01-17T00:00:00Z',
        data: [
          { value: 5, ...whole, subject: ALPHA, groupBy: { endpoint: '/accounts', method: 'GET' } },
          { value: 1, ...whole, subject: ALPHA, groupBy: { endpoint: '/payments', method: 'POST' } },
          { value: 1, ...whole, subject: BETA, groupBy: { endpoint: '/accounts', method: 'GET' } },
          { value: 1, ...whole, subject: BETA, groupBy: { endpoint: '/payments', method: 'POST' } },
        ],
      });
    });

    it('answers one total without group-bys, over the span of the events when no range is given', async () => {
      expect(await query('api_calls', RANGE)).toEqual({
        from: '2026-01-15T00:00:00Z',
        to: '2026-01-17T00:00:00Z',
        data: [{ value: 8, windowStart: '2026-01-15T00:00:00Z', windowEnd: '2026-01-17T00:00:00Z', subject: null, groupBy: {} }],
      });
      // Without a range, from the minute of the first event up to now (the query's range), never a zero-length window.
      expect(await query('api_calls', '')).toEqual({
        from: '2026-01-15T10:00:00Z',
        to: '2026-02-01T08:00:00Z',
        data: [{ value: 8, windowStart: '2026-01-15T10:00:00Z', windowEnd: '2026-02-01T08:00:00Z', subject: null, groupBy: {} }],
      });
    });

    it('sums a value per hour for one subject, which subject= also groups by', async () => {
      expect(await query('api_latency', `${RANGE}&windowSize=HOUR&subject=${ALPHA}&groupBy=endpoint`)).toEqual({
        from: '2026-01-15T00:00:00Z',
        to: '2026-01-17T00:00:00Z',
        windowSize: 'HOUR',
        data: [
          { value: 60, windowStart: '2026-01-15T10:00:00Z', windowEnd: '2026-01-15T11:00:00Z', subject: ALPHA, groupBy: { endpoint: '/accounts' } },
          { value: 100, windowStart: '2026-01-15T10:00:00Z', windowEnd: '2026-01-15T11:00:00Z', subject: ALPHA, groupBy: { endpoint: '/payments' } },
          { value: 40, windowStart: '2026-01-15T11:00:00Z', windowEnd: '2026-01-15T12:00:00Z', subject: ALPHA, groupBy: { endpoint: '/accounts' } },
          { value: 50, windowStart: '2026-01-16T00:00:00Z', windowEnd: '2026-01-16T01:00:00Z', subject: ALPHA, groupBy: { endpoint: '/accounts' } },
        ],
      });
    });

    it('counts per minute within a range, from inclusive and to exclusive', async () => {
      expect(await query('api_calls', `from=2026-01-15T10:00:10Z&to=2026-01-15T10:01:05Z&windowSize=MINUTE&subject=${ALPHA}`)).toEqual({
        from: '2026-01-15T10:00:10Z',
        to: '2026-01-15T10:01:05Z',
        windowSize: 'MINUTE',
        data: [{ value: 2, windowStart: '2026-01-15T10:00:00Z', windowEnd: '2026-01-15T10:01:00Z', subject: ALPHA, groupBy: {} }],
      });
    });

    it('aligns DAY windows in windowTimeZone', async () => {
      const params = `${RANGE}&windowSize=DAY&subject=${ALPHA}`;
      expect((await query('api_calls', params)).data).toEqual([
        { value: 5, windowStart: '2026-01-15T00:00:00Z', windowEnd: '2026-01-16T00:00:00Z', subject: ALPHA, groupBy: {} },
        { value: 1, windowStart: '2026-01-16T00:00:00Z', windowEnd: '2026-01-17T00:00:00Z', subject: ALPHA, groupBy: {} },
      ]);
      // New York is UTC-5 in January: all six calls fall on its 15 January.
      expect((await query('api_calls', `${params}&windowTimeZone=America/New_York`)).data).toEqual([
        { value: 6, windowStart: '2026-01-15T05:00:00Z', windowEnd: '2026-01-16T05:00:00Z', subject: ALPHA, groupBy: {} },
      ]);
      // Names are taken in any case, as their canonical form.
      expect((await query('api_calls', `${params}&windowTimeZone=america/new_york`)).data).toHaveLength(1);
    });

    it('filters by several subjects, and by group-by values with filterGroupBy[key]=value', async () => {
      expect((await query('api_calls', `${RANGE}&subject=${ALPHA}&subject=${BETA}`)).data).toEqual([
        { value: 6, windowStart: '2026-01-15T00:00:00Z', windowEnd: '2026-01-17T00:00:00Z', subject: ALPHA, groupBy: {} },
        { value: 2, windowStart: '2026-01-15T00:00:00Z', windowEnd: '2026-01-17T00:00:00Z', subject: BETA, groupBy: {} },
      ]);
      expect((await query('api_calls', `${RANGE}&groupBy=subject&filterGroupBy%5Bmethod%5D=POST`)).data).toEqual([
        { value: 1, windowStart: '2026-01-15T00:00:00Z', windowEnd: '2026-01-17T00:00:00Z', subject: ALPHA, groupBy: {} },
        { value: 1, windowStart: '2026-01-15T00:00:00Z', windowEnd: '2026-01-17T00:00:00Z', subject: BETA, groupBy: {} },
      ]);
      expect((await query('api_latency', `${RANGE}&filterGroupBy[endpoint]=/accounts&subject=${BETA}`)).data).toEqual([
        { value: 5, windowStart: '2026-01-15T00:00:00Z', windowEnd: '2026-01-17T00:00:00Z', subject: BETA, groupBy: {} },
      ]);
    });

    it('answers an empty data array when nothing matches', async () => {
      expect(await query('api_calls', `${RANGE}&subject=tpp-nobody&windowSize=DAY`)).toEqual({
        from: '2026-01-15T00:00:00Z',
        to: '2026-01-17T00:00:00Z',
        windowSize: 'DAY',
        data: [],
      });
    });

    it('takes a time with an offset, a + sent unencoded included', async () => {
      const body = await query('api_calls', `from=2026-01-15T11:00:00+01:00&to=2026-01-15T12:00:00%2B01:00&subject=${ALPHA}`);
      expect(body.from).toBe('2026-01-15T10:00:00Z');
      expect(body.to).toBe('2026-01-15T11:00:00Z');
      expect(body.data.map((r) => r.value)).toEqual([4]);
    });

    it('answers CSV when Accept asks for text/csv', async () => {
      const res = await get(`/api/v1/meters/api_calls/query?${RANGE}&groupBy=endpoint&subject=${ALPHA}&groupBy=method`, { accept: 'text/csv' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv');
      expect(res.headers.get('content-disposition')).toBe('attachment; filename=api_calls.csv');
      expect(await res.text()).toBe(
        [
          'window_start,window_end,subject,endpoint,method,value',
          `2026-01-15T00:00:00Z,2026-01-17T00:00:00Z,${ALPHA},/accounts,GET,5.000000`,
          `2026-01-15T00:00:00Z,2026-01-17T00:00:00Z,${ALPHA},/payments,POST,1.000000`,
          '',
        ].join('\n'),
      );
    });

    it.each([
      ['an unknown groupBy key', 'groupBy=model', ['groupBy "model" is not a group-by key of meter api_calls.']],
      ['a time that is not RFC 3339', 'from=2026-01-15', ['from must be an RFC 3339 date-time, such as 2026-01-15T10:30:00Z; got "2026-01-15".']],
      ['a day that does not exist', 'to=2026-02-30T00:00:00Z', ['to must be an RFC 3339 date-time, such as 2026-01-15T10:30:00Z; got "2026-02-30T00:00:00Z".']],
      ['a window OpenMeter has not', 'windowSize=YEAR', ['windowSize must be one of MINUTE, HOUR, DAY, MONTH; got "YEAR".']],
      ['a lower-case window', 'windowSize=hour', ['windowSize must be one of MINUTE, HOUR, DAY, MONTH; got "hour".']],
      ['an unknown time zone', 'windowTimeZone=Mars/Olympus', ['windowTimeZone must be an IANA time zone, such as Europe/London; got "Mars/Olympus".']],
      ['an offset as time zone', 'windowTimeZone=%2B01:00', ['windowTimeZone must be an IANA time zone, such as Europe/London; got "+01:00".']],
      ['from after to', 'from=2026-01-16T00:00:00Z&to=2026-01-15T00:00:00Z', ['from must be before to.']],
      ['from equal to to', 'from=2026-01-16T00:00:00Z&to=2026-01-16T00:00:00.000Z', ['from and to cannot be equal.']],
      ['from given twice', 'from=2026-01-15T00:00:00Z&from=2026-01-16T00:00:00Z', ['from may be given once.']],
      ['a filter on an unknown key', 'filterGroupBy[model]=x', ['filterGroupBy[model] is not a group-by key of meter api_calls.']],
      ['a filter given twice', 'filterGroupBy[method]=GET&filterGroupBy[method]=POST', ['filterGroupBy[method] may be given once.']],
      ['a subject outside the pattern', 'subject=a%20b', ['subject "a b" must match [A-Za-z0-9._:-]{1,128}.']],
      [
        'an advanced filter',
        'advancedMeterGroupByFilters[method][$eq]=GET',
        ['advancedMeterGroupByFilters[method][$eq] is not supported; use filterGroupBy[key]=value and subject.'],
      ],
      ['an empty clientId', 'clientId=', ['clientId cannot be empty.']],
      [
        'several problems at once',
        'groupBy=nope&windowSize=WEEK&from=later',
        [
          'from must be an RFC 3339 date-time, such as 2026-01-15T10:30:00Z; got "later".',
          'windowSize must be one of MINUTE, HOUR, DAY, MONTH; got "WEEK".',
          'groupBy "nope" is not a group-by key of meter api_calls.',
        ],
      ],
    ])('refuses %s with 400 problem+json listing each problem', async (_name, params, problems) => {
      const res = await get(`/api/v1/meters/api_calls/query?${params}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe(PROBLEM);
      expect(await res.json()).toEqual({
        type: 'https://tollgate.dev/problems/bad-request',
        title: 'Bad request',
        status: 400,
        code: 'BAD_REQUEST',
        detail: problems.join(' '),
        invalidParameters: problems,
      });
    });

    it('records openmeter_query_latency_seconds per meter and outcome, failures included', async () => {
      const count = async (outcome: string) =>
        (await metrics.queryLatency.get()).values.find(
          (v) => v.metricName === 'openmeter_query_latency_seconds_count' && v.labels.meter === 'api_latency' && v.labels.outcome === outcome,
        )?.value ?? 0;
      const [ok, invalid] = [await count('ok'), await count('invalid')];
      await query('api_latency', RANGE);
      expect((await get('/api/v1/meters/api_latency/query?windowSize=YEAR')).status).toBe(400);
      expect(await count('ok')).toBe(ok + 1);
      expect(await count('invalid')).toBe(invalid + 1);
    });
  });
});
