import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../clickhouse/client.ts';
import { migrate } from '../clickhouse/migrations.ts';
import { clickHouseTime } from '../clickhouse/time.ts';
import { parseMeters } from './meter.ts';
import { queryMeter } from './query-meter.ts';

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

const q = { windowTimeZone: 'UTC', subjects: [], groupBy: [], filterGroupBy: {} };

describe('queryMeter', () => {
  it('counts per subject, endpoint and method over the range', async () => {
    const rows = await queryMeter(ch, calls, { ...q, from: t0, to: t0 + 3_600_000, groupBy: ['subject', 'endpoint', 'method'] });
    expect(rows).toEqual([
      { value: 2, windowStart: '2026-01-15T22:59:00Z', windowEnd: '2026-01-15T23:59:00Z', subject: 'tpp-1', groupBy: { endpoint: '/accounts', method: 'GET' } },
      { value: 1, windowStart: '2026-01-15T22:59:00Z', windowEnd: '2026-01-15T23:59:00Z', subject: 'tpp-1', groupBy: { endpoint: '/payments', method: 'POST' } },
      { value: 1, windowStart: '2026-01-15T22:59:00Z', windowEnd: '2026-01-15T23:59:00Z', subject: 'tpp-2', groupBy: { endpoint: '/accounts', method: 'GET' } },
    ]);
  });

  it('windows by minute and filters by subject and group value', async () => {
    const rows = await queryMeter(ch, calls, { ...q, windowSize: 'MINUTE', subjects: ['tpp-1'], filterGroupBy: { method: 'GET' } });
    expect(rows).toEqual([{ value: 2, windowStart: '2026-01-15T22:59:00Z', windowEnd: '2026-01-15T23:00:00Z', subject: null, groupBy: {} }]);
  });

  it('aligns day windows to the requested time zone', async () => {
    const rows = await queryMeter(ch, calls, { ...q, windowSize: 'DAY', windowTimeZone: 'Europe/Berlin' });
    // 22:59 and 23:00 UTC straddle midnight in Berlin (UTC+1).
    expect(rows).toEqual([
      { value: 2, windowStart: '2026-01-14T23:00:00Z', windowEnd: '2026-01-15T23:00:00Z', subject: null, groupBy: {} },
      { value: 2, windowStart: '2026-01-15T23:00:00Z', windowEnd: '2026-01-16T23:00:00Z', subject: null, groupBy: {} },
    ]);
  });

  it('averages and takes the latest value', async () => {
    expect((await queryMeter(ch, latency, { ...q, groupBy: ['endpoint'] })).map((r) => [r.groupBy.endpoint, r.value])).toEqual([
      ['/accounts', (10 + 30 + 70) / 3],
      ['/payments', 50],
    ]);
    expect((await queryMeter(ch, latest, q)).map((r) => r.value)).toEqual([70]);
  });

  it('answers no rows for a range without events', async () => {
    expect(await queryMeter(ch, calls, { ...q, from: 0, to: 1000 })).toEqual([]);
  });

  it('feeds usage_1m through the materialized view', async () => {
    const result = await ch.query({
      query: 'SELECT subject, toUnixTimestamp(window_start) AS w, sum(cost) AS cost, sum(events) AS n FROM usage_1m GROUP BY subject, w ORDER BY subject, w',
      format: 'JSONEachRow',
    });
    // 64-bit integers come back as strings from a server and as numbers from the embedded engine.
    const rows = (await result.json<Record<string, string | number>>()).map((r) => ({ ...r, cost: Number(r.cost), n: Number(r.n) }));
    expect(rows).toEqual([
      { subject: 'tpp-1', w: t0 / 1000, cost: 2, n: 2 },
      { subject: 'tpp-1', w: t0 / 1000 + 60, cost: 1, n: 1 },
      { subject: 'tpp-2', w: t0 / 1000 + 60, cost: 1, n: 1 },
    ]);
  });
});
