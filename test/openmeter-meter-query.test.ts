import { describe, expect, it } from 'vitest';
import { metrics } from '@tollgate/core/metrics';
import { ALPHA, BETA, PROBLEM, RANGE, get, query, useSeededMeters } from '@tollgate/testkit/seeded-meters';

/** OpenMeter's meter query over the events testkit/src/seeded-meters.ts ingests: windows, groups, filters, time zones and CSV. */
useSeededMeters();

describe('OpenMeter meter API', () => {
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
