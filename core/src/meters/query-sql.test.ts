import { describe, expect, it } from 'vitest';
import { parseMeters } from './meter.ts';
import { buildMeterQuery, NUMERIC_TEXT, type MeterQuery } from './query-sql.ts';

const [apiCalls, latency, users] = parseMeters([
  {
    slug: 'api_calls',
    eventType: 'api.call',
    aggregation: 'COUNT',
    groupBy: { subject: true, endpoint: '$.data.endpoint', method: '$.data.method' },
  },
  { slug: 'api_latency', eventType: 'api.call', valueProperty: '$.data.response_time_ms', aggregation: 'SUM', groupBy: { endpoint: '$.data.endpoint' } },
  { slug: 'users', eventType: 'login', valueProperty: '$.data.user.id', aggregation: 'UNIQUE_COUNT' },
]);
if (!apiCalls || !latency || !users) throw new Error('meters missing');

const base: MeterQuery = { windowTimeZone: 'UTC', subjects: [], groupBy: [], filterGroupBy: {} };

describe('buildMeterQuery', () => {
  it('counts over the whole range without a window, spanning whole minutes, and has a row only for matching events', () => {
    expect(buildMeterQuery(apiCalls, base)).toEqual({
      query: [
        'SELECT toUnixTimestamp(toStartOfMinute(min(time))) AS first_minute, toUnixTimestamp(toStartOfMinute(max(time))) + 60 AS last_minute_end, toFloat64(count()) AS value',
        'FROM events',
        'WHERE type = {eventType:String}',
        'HAVING count() > 0',
      ].join('\n'),
      params: { eventType: 'api.call' },
      columns: {},
    });
  });

  it('windows in a time zone, groups by data paths and filters with parameters only', () => {
    const built = buildMeterQuery(apiCalls, {
      ...base,
      from: Date.UTC(2026, 0, 15, 10),
      to: Date.UTC(2026, 0, 15, 11),
      windowSize: 'HOUR',
      windowTimeZone: 'Europe/Berlin',
      subjects: ['tpp-1', 'tpp-2'],
      groupBy: ['subject', 'endpoint', 'method'],
      filterGroupBy: { method: ['GET', 'HEAD'] },
    });
    expect(built.query).toContain('toUnixTimestamp(toStartOfInterval(toTimeZone(time, {tz:String}), INTERVAL 1 HOUR)) AS window_start');
    expect(built.query).toContain("AND subject IN {subjects:Array(String)} AND multiIf(JSONType(data, {filter_0_path_0:String}) = 'String'");
    expect(built.query).toContain('IN {filter_0:Array(String)}');
    expect(built.query).toContain('GROUP BY window_start, window_end, subject, group_1, group_2');
    expect(built.query).toContain('ORDER BY window_start, subject, group_1, group_2');
    expect(built.params).toEqual({
      eventType: 'api.call',
      tz: 'Europe/Berlin',
      group_1_0: 'endpoint',
      group_2_0: 'method',
      from: '2026-01-15 10:00:00.000',
      to: '2026-01-15 11:00:00.000',
      subjects: ['tpp-1', 'tpp-2'],
      filter_0: ['GET', 'HEAD'],
      filter_0_path_0: 'method',
    });
    expect(built.columns).toEqual({ subject: 'subject', endpoint: 'group_1', method: 'group_2' });
  });

  it('aligns MONTH windows at the zone\'s midnight', () => {
    const built = buildMeterQuery(apiCalls, { ...base, windowSize: 'MONTH', windowTimeZone: 'Europe/Berlin' });
    expect(built.query).toContain('toUnixTimestamp(toDateTime(toStartOfMonth(toTimeZone(time, {tz:String})), {tz:String}) + INTERVAL 1 MONTH) AS window_end');
  });

  it('sums a numeric value property', () => {
    const built = buildMeterQuery(latency, { ...base, windowSize: 'MINUTE' });
    expect(built.query).toMatch(/sum\(ifNotFinite\(multiIf\(JSONType\(data, \{value_0:String\}\) IN \('Int64', 'UInt64', 'Double'\)/);
    expect(built.query).toContain('HAVING count(ifNotFinite(');
    expect(built.params).toMatchObject({ value_0: 'response_time_ms', numeric: NUMERIC_TEXT });
  });

  it('counts unique values of a nested path', () => {
    const built = buildMeterQuery(users, base);
    expect(built.query).toContain("toFloat64(uniqExact(multiIf(JSONType(data, {value_0:String}, {value_1:String}) = 'String'");
    expect(built.params).toMatchObject({ value_0: 'user', value_1: 'id' });
  });

  it("leaves out the events before a meter's eventFrom, whatever range is asked", () => {
    const built = buildMeterQuery({ ...apiCalls, eventFrom: Date.UTC(2026, 0, 1) }, { ...base, from: Date.UTC(2025, 0, 1) });
    expect(built.query).toContain("WHERE type = {eventType:String} AND time >= {eventFrom:DateTime64(3, 'UTC')} AND time >= {from:DateTime64(3, 'UTC')}");
    expect(built.params).toMatchObject({ eventFrom: '2026-01-01 00:00:00.000', from: '2025-01-01 00:00:00.000' });
  });

  it('keeps a hostile filter value out of the SQL text', () => {
    const built = buildMeterQuery(apiCalls, { ...base, filterGroupBy: { endpoint: ["x' OR 1=1 --"] } });
    expect(built.query).not.toContain('OR 1=1');
    expect(built.params.filter_0).toEqual(["x' OR 1=1 --"]);
  });
});

describe('parseMeters', () => {
  it('reports every problem at once', () => {
    expect(() =>
      parseMeters([
        { slug: 'Bad Slug', eventType: '', aggregation: 'MEDIAN' },
        { slug: 'ok', eventType: 'x', aggregation: 'SUM', groupBy: { 'bad-key': '$.data.x', y: 'data.y' } },
      ]),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'meters[0].slug must match ^[a-z0-9][a-z0-9_-]{0,62}$',
          'meters[0].eventType is required',
          'meters[0].aggregation must be one of COUNT, SUM, AVG, MIN, MAX, UNIQUE_COUNT, LATEST',
          'meters[0].valueProperty is required for MEDIAN',
          'meters[1].valueProperty is required for SUM',
          'meters[1].groupBy key "bad-key" must match ^[A-Za-z_][A-Za-z0-9_]{0,62}$',
          'meters[1].groupBy.y must be a path like $.field (into the event data, as OpenMeter) or $.data.field',
        ],
      }),
    );
  });

  it('reads OpenMeter\'s paths ($.field, into data) and our users\' ($.data.field) as the same path, shown in OpenMeter\'s form', () => {
    const [a, b] = parseMeters([
      { slug: 'a', eventType: 'x', aggregation: 'SUM', valueProperty: '$.usage.tokens', groupBy: { model: '$.model' } },
      { slug: 'b', eventType: 'x', aggregation: 'SUM', valueProperty: '$.data.usage.tokens', groupBy: { model: '$.data.model' } },
    ]);
    for (const m of [a, b]) expect(m).toMatchObject({ valueProperty: '$.usage.tokens', valuePath: ['usage', 'tokens'], groupBy: { model: '$.model' }, groupByPaths: { model: ['model'] } });
    expect(parseMeters([{ slug: 'c', eventType: 'x', aggregation: 'MAX', valueProperty: '$.data' }])[0]?.valuePath).toEqual(['data']);
  });
});
