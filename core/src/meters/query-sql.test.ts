import { describe, expect, it } from 'vitest';
import { parseMeters } from './meter.ts';
import { buildMeterQuery, type MeterQuery } from './query-sql.ts';

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
  it('counts over the whole range without a window', () => {
    expect(buildMeterQuery(apiCalls, base)).toEqual({
      query: [
        'SELECT toUnixTimestamp64Milli(min(time)) AS first_time, toUnixTimestamp64Milli(max(time)) AS last_time, toFloat64(count()) AS value',
        'FROM events',
        'WHERE type = {eventType:String}',
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
      filterGroupBy: { method: 'GET' },
    });
    expect(built.query).toBe(
      [
        "SELECT toUnixTimestamp(toStartOfInterval(toTimeZone(time, {tz:String}), INTERVAL 1 HOUR)) AS window_start, toUnixTimestamp(toStartOfInterval(toTimeZone(time, {tz:String}), INTERVAL 1 HOUR) + INTERVAL 1 HOUR) AS window_end, toFloat64(count()) AS value, subject, JSONExtractString(data, {group_1_0:String}) AS group_1, JSONExtractString(data, {group_2_0:String}) AS group_2",
        'FROM events',
        "WHERE type = {eventType:String} AND time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')} AND subject IN {subjects:Array(String)} AND JSONExtractString(data, {filter_0_path_0:String}) = {filter_0:String}",
        'GROUP BY window_start, window_end, subject, group_1, group_2',
        'ORDER BY window_start, subject, group_1, group_2',
      ].join('\n'),
    );
    expect(built.params).toEqual({
      eventType: 'api.call',
      tz: 'Europe/Berlin',
      group_1_0: 'endpoint',
      group_2_0: 'method',
      from: '2026-01-15 10:00:00.000',
      to: '2026-01-15 11:00:00.000',
      subjects: ['tpp-1', 'tpp-2'],
      filter_0: 'GET',
      filter_0_path_0: 'method',
    });
    expect(built.columns).toEqual({ subject: 'subject', endpoint: 'group_1', method: 'group_2' });
  });

  it('sums a numeric value property', () => {
    const built = buildMeterQuery(latency, { ...base, windowSize: 'MINUTE' });
    expect(built.query).toContain('sum(JSONExtractFloat(data, {value_0:String})) AS value');
    expect(built.params.value_0).toBe('response_time_ms');
  });

  it('counts unique values of a nested path', () => {
    const built = buildMeterQuery(users, base);
    expect(built.query).toContain('toFloat64(uniqExact(JSONExtractString(data, {value_0:String}, {value_1:String}))) AS value');
    expect(built.params).toMatchObject({ value_0: 'user', value_1: 'id' });
  });

  it('keeps a hostile filter value out of the SQL text', () => {
    const built = buildMeterQuery(apiCalls, { ...base, filterGroupBy: { endpoint: "x' OR 1=1 --" } });
    expect(built.query).not.toContain('OR 1=1');
    expect(built.params.filter_0).toBe("x' OR 1=1 --");
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
          'meters[1].groupBy.y must be a path like $.data.field',
        ],
      }),
    );
  });
});
