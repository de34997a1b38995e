import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../clickhouse/client.ts';
import { migrate } from '../clickhouse/migrations.ts';
import { clickHouseTime } from '../clickhouse/time.ts';
import { parseMeters, type Meter } from './meter.ts';
import { queryMeter } from './query-meter.ts';
import type { MeterQuery } from './query-sql.ts';

const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-meters-')) });
const [calls, latency, latest] = parseMeters([
  { slug: 'api_calls', eventType: 'api.call', aggregation: 'COUNT', groupBy: { subject: true, endpoint: '$.data.endpoint', method: '$.data.method' } },
  { slug: 'api_latency', eventType: 'api.call', aggregation: 'AVG', valueProperty: '$.data.response_time_ms', groupBy: { endpoint: '$.data.endpoint' } },
  { slug: 'last_latency', eventType: 'api.call', aggregation: 'LATEST', valueProperty: '$.data.response_time_ms' },
]);
if (!calls || !latency || !latest) throw new Error('meters missing');

const t0 = Date.UTC(2026, 0, 15, 22, 59, 0);
const event = (i: number, subject: string, endpoint: string, method: string, ms: number, at: number) => ({
  source: 'test',
  id: `e-${i}`,
  type: 'api.call',
  subject,
  time: clickHouseTime(at),
  data: JSON.stringify({ endpoint, method, status_code: 200, response_time_ms: ms, cost: 1, decision: 'debited' }),
  cost: 1,
  decision: 'debited',
});

beforeAll(async () => {
  await migrate(ch);
  await ch.insert({
    table: 'events',
    format: 'JSONEachRow',
    values: [
      event(1, 'tpp-1', '/accounts', 'GET', 10, t0),
      event(2, 'tpp-1', '/accounts', 'GET', 30, t0 + 30_000),
      event(3, 'tpp-1', '/payments', 'POST', 50, t0 + 61_000),
      event(4, 'tpp-2', '/accounts', 'GET', 70, t0 + 62_000),
    ],
  });
});

const q: MeterQuery = { windowTimeZone: 'UTC', subjects: [], groupBy: [], filterGroupBy: {} };

const NOW = t0 + 10 * 60_000;
const run = (meter: Meter, query: MeterQuery) => queryMeter(ch, meter, query, NOW);

describe('queryMeter', () => {
  it('counts per subject, endpoint and method over the range, each row spanning it', async () => {
    expect(await run(calls, { ...q, from: t0, to: t0 + 3_600_000, groupBy: ['subject', 'endpoint', 'method'] })).toEqual({
      from: '2026-01-15T22:59:00Z',
      to: '2026-01-15T23:59:00Z',
      data: [
        { value: 2, windowStart: '2026-01-15T22:59:00Z', windowEnd: '2026-01-15T23:59:00Z', subject: 'tpp-1', groupBy: { endpoint: '/accounts', method: 'GET' } },
        { value: 1, windowStart: '2026-01-15T22:59:00Z', windowEnd: '2026-01-15T23:59:00Z', subject: 'tpp-1', groupBy: { endpoint: '/payments', method: 'POST' } },
        { value: 1, windowStart: '2026-01-15T22:59:00Z', windowEnd: '2026-01-15T23:59:00Z', subject: 'tpp-2', groupBy: { endpoint: '/accounts', method: 'GET' } },
      ],
    });
  });

  it('without a range, spans from the minute of the first event up to now, never a zero-length window', async () => {
    expect(await run(calls, { ...q, subjects: ['tpp-2'], groupBy: ['subject'] })).toEqual({
      from: '2026-01-15T23:00:00Z',
      to: '2026-01-15T23:09:00Z',
      data: [{ value: 1, windowStart: '2026-01-15T23:00:00Z', windowEnd: '2026-01-15T23:09:00Z', subject: 'tpp-2', groupBy: {} }],
    });
  });

  it('windows by minute and filters by subject and any of several group values', async () => {
    const answer = await run(calls, { ...q, windowSize: 'MINUTE', subjects: ['tpp-1'], filterGroupBy: { method: ['GET', 'PUT'] } });
    expect(answer).toMatchObject({ windowSize: 'MINUTE', to: '2026-01-15T23:09:00Z' });
    expect(answer.data).toEqual([{ value: 2, windowStart: '2026-01-15T22:59:00Z', windowEnd: '2026-01-15T23:00:00Z', subject: null, groupBy: {} }]);
  });

  it('aligns day, hour and month windows to the requested time zone', async () => {
    // 22:59 and 23:00 UTC straddle midnight in Berlin (UTC+1).
    expect((await run(calls, { ...q, windowSize: 'DAY', windowTimeZone: 'Europe/Berlin' })).data).toEqual([
      { value: 2, windowStart: '2026-01-14T23:00:00Z', windowEnd: '2026-01-15T23:00:00Z', subject: null, groupBy: {} },
      { value: 2, windowStart: '2026-01-15T23:00:00Z', windowEnd: '2026-01-16T23:00:00Z', subject: null, groupBy: {} },
    ]);
    // India is UTC+5:30: its hours start at half past.
    expect((await run(calls, { ...q, windowSize: 'HOUR', windowTimeZone: 'Asia/Kolkata' })).data).toEqual([
      { value: 4, windowStart: '2026-01-15T22:30:00Z', windowEnd: '2026-01-15T23:30:00Z', subject: null, groupBy: {} },
    ]);
    expect((await run(calls, { ...q, windowSize: 'MONTH', windowTimeZone: 'Europe/Berlin' })).data).toEqual([
      { value: 4, windowStart: '2025-12-31T23:00:00Z', windowEnd: '2026-01-31T23:00:00Z', subject: null, groupBy: {} },
    ]);
    expect((await run(calls, { ...q, windowSize: 'MONTH' })).data).toEqual([
      { value: 4, windowStart: '2026-01-01T00:00:00Z', windowEnd: '2026-02-01T00:00:00Z', subject: null, groupBy: {} },
    ]);
  });

  it('averages and takes the latest value', async () => {
    expect((await run(latency, { ...q, groupBy: ['endpoint'] })).data.map((r) => [r.groupBy.endpoint, r.value])).toEqual([
      ['/accounts', (10 + 30 + 70) / 3],
      ['/payments', 50],
    ]);
    expect((await run(latest, q)).data.map((r) => r.value)).toEqual([70]);
  });

  it('answers no rows for a range without events', async () => {
    expect(await run(calls, { ...q, from: 0, to: 1000 })).toEqual({ from: '1970-01-01T00:00:00Z', to: '1970-01-01T00:00:01Z', data: [] });
  });
});

/**
 * OpenMeter's semantics for events that lack a meter's value: they do not contribute to its
 * value (no 0, no NaN), a group of only such events has no row, and COUNT still counts them.
 * The events of subject `tpp-v`: values 100 and "20" (a number as a string), then events whose
 * value is missing, null, "NaN", "Inf", "-Infinity", "abc", true, or an object.
 */
describe('queryMeter: events without a usable value', () => {
  const values: unknown[] = [100, '20', undefined, null, 'NaN', 'Inf', '-Infinity', 'abc', true, { n: 1 }];
  const meterOf = (aggregation: string) => {
    const [meter] = parseMeters([{ slug: `v_${aggregation.toLowerCase()}`, eventType: 'usage', aggregation, valueProperty: '$.v', groupBy: { kind: '$.kind' } }]);
    if (!meter) throw new Error('no meter');
    return meter;
  };
  beforeAll(async () => {
    const row = (i: number, v: unknown, kind: string) => ({
      source: 'values',
      id: `v-${kind}-${i}`,
      type: 'usage',
      subject: 'tpp-v',
      time: clickHouseTime(t0 + i * 1000),
      data: JSON.stringify(v === undefined ? { kind } : { kind, v }),
      cost: 0,
      decision: '',
    });
    await ch.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: [...values.map((v, i) => row(i, v, 'mixed')), ...values.slice(2).map((v, i) => row(i, v, 'none'))],
    });
  });

  it.each([
    ['COUNT', [['mixed', 10], ['none', 8]]],
    ['SUM', [['mixed', 120]]],
    ['AVG', [['mixed', 60]]],
    ['MIN', [['mixed', 20]]],
    ['MAX', [['mixed', 100]]],
    // The latest event with a value is "20" (the second); the later ones have none.
    ['LATEST', [['mixed', 20]]],
    // Strings and other scalars count as values ("NaN", "Inf", "abc", true …); missing, null and objects do not.
    ['UNIQUE_COUNT', [['mixed', 7], ['none', 5]]],
  ])('%s', async (aggregation, expected) => {
    const answer = await run(meterOf(aggregation), { ...q, subjects: ['tpp-v'], groupBy: ['kind'] });
    expect(answer.data.map((r) => [r.groupBy.kind, r.value])).toEqual(expected);
  });

  it('one NaN never zeroes a SUM: 100 and "NaN", "Inf" sum to 100', async () => {
    const answer = await run(meterOf('SUM'), { ...q, subjects: ['tpp-v'], from: t0, to: t0 + 6000 });
    expect(answer.data.map((r) => r.value)).toEqual([120]);
  });
});

describe('usage_1m', () => {
  it('sums the stored events per subject, type and minute in usage_1m', async () => {
    const result = await ch.query({
      query: 'SELECT subject, toUnixTimestamp(window_start) AS w, sum(cost) AS cost, sum(events) AS n FROM usage_1m GROUP BY subject, w ORDER BY subject, w',
      format: 'JSONEachRow',
    });
    // 64-bit integers come back as strings from a server and as numbers from the embedded engine.
    const rows = (await result.json<Record<string, string | number>>()).map((r) => ({ subject: r.subject, w: r.w, cost: Number(r.cost), n: Number(r.n) }));
    expect(rows.filter((r) => r.subject !== 'tpp-v')).toEqual([
      { subject: 'tpp-1', w: t0 / 1000, cost: 2, n: 2 },
      { subject: 'tpp-1', w: t0 / 1000 + 60, cost: 1, n: 1 },
      { subject: 'tpp-2', w: t0 / 1000 + 60, cost: 1, n: 1 },
    ]);
  });
});
