import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { openClickHouse } from '@tollgate/core/clickhouse';
import { startClickHouseFront, type ClickHouseFront } from './clickhouse-http.ts';

const ROWS = 10_000;

describe('ClickHouse HTTP front over chDB', () => {
  let front: ClickHouseFront;
  let ch: ClickHouseClient;
  let other: ClickHouseClient;

  beforeAll(async () => {
    front = await startClickHouseFront();
    ch = openClickHouse({ url: front.url });
    // A second client with its own connections stands in for a second process.
    other = openClickHouse({ url: front.url });
  });
  afterAll(async () => {
    await ch?.close();
    await other?.close();
    await front?.stop();
  });

  it('answers ping, DDL, a JSONEachRow insert and parameterised selects', async () => {
    expect((await ch.ping()).success).toBe(true);
    await ch.command({
      query: `CREATE TABLE harness_events (id String, subject String, time DateTime64(3), cost UInt32)
              ENGINE = MergeTree ORDER BY (subject, time)`,
    });
    const rows = Array.from({ length: ROWS }, (_, i) => ({
      id: `e-${i}`,
      subject: `tpp-${i % 10}`,
      time: new Date(Date.UTC(2026, 0, 15, 10, 30, 0, i % 1000)).toISOString(),
      cost: i % 3,
    }));
    const inserted = await ch.insert({ table: 'harness_events', format: 'JSONEachRow', values: rows });
    expect(inserted.executed).toBe(true);

    const result = await other.query({
      query: `SELECT subject, toUInt32(count()) AS calls, toUInt32(sum(cost)) AS total_cost, max(time) AS last
              FROM harness_events WHERE subject = {p:String} AND cost < {n:UInt32} GROUP BY subject`,
      query_params: { p: 'tpp-7', n: 2 },
      format: 'JSONEachRow',
    });
    const matching = rows.filter((r) => r.subject === 'tpp-7' && r.cost < 2);
    expect(await result.json()).toEqual([
      { subject: 'tpp-7', calls: matching.length, total_cost: matching.reduce((a, r) => a + r.cost, 0), last: '2026-01-15 10:30:00.997' },
    ]);

    // Values that need escaping reach the engine exactly as a ClickHouse server would get them.
    const echo = await ch.query({
      query: 'SELECT {s:String} AS s, {a:Array(String)} AS a',
      query_params: { s: "it's a\\b\tc", a: ["o'k", 'x\\y'] },
      format: 'JSONEachRow',
    });
    expect(await echo.json()).toEqual([{ s: "it's a\\b\tc", a: ["o'k", 'x\\y'] }]);

    const total = await ch.query({ query: 'SELECT toUInt32(count()) AS n FROM harness_events', format: 'JSON' });
    expect((await total.json<{ n: number }>()).data).toEqual([{ n: ROWS }]);
  });

  it('rejects a bad query with the ClickHouse error code and type', async () => {
    await expect(ch.query({ query: 'SELEC 1' })).rejects.toMatchObject({ code: '62', type: 'SYNTAX_ERROR' });
    await expect(ch.query({ query: 'SELECT * FROM no_such_table' })).rejects.toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    const response = await fetch(`${front.url}/?query=${encodeURIComponent('SELEC 1')}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('x-clickhouse-exception-code')).toBe('62');
    // The failed queries left the shared session usable.
    expect((await (await ch.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json())).toEqual([{ one: 1 }]);
  });

  it('applies per-query settings to that query only', async () => {
    const setting = async (settings: Record<string, string | number> = {}) =>
      (await (await ch.query({ query: "SELECT getSetting('max_threads') AS v", format: 'JSONEachRow', clickhouse_settings: settings })).json<{ v: number }>())[0]?.v;
    const before = await setting();
    expect(await setting({ max_threads: 3 })).toBe(3);
    expect(await setting()).toBe(before);
  });
});
