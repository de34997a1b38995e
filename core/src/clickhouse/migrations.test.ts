import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@tollgate/testkit/wait-for';
import type { StoredEvent } from '../events/validate-event.ts';
import { createLogger } from '../logger.ts';
import { openClickHouse } from './client.ts';
import { EventWriter } from './event-writer.ts';
import { MIGRATIONS, migrate } from './migrations.ts';

/**
 * The schema before usage, keys and receipts became projections of events: tables that views of
 * events filled at insert, each its own part (what a kill could cut apart).
 */
const EARLIER_TABLES = [
  `CREATE TABLE usage_1m (subject String, type LowCardinality(String), window_start DateTime('UTC'),
    cost SimpleAggregateFunction(sum, Int64), unverified_cost SimpleAggregateFunction(sum, Int64), events SimpleAggregateFunction(sum, UInt64))
    ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(window_start) ORDER BY (subject, type, window_start)`,
  `CREATE MATERIALIZED VIEW usage_1m_mv TO usage_1m AS SELECT subject, type, toStartOfMinute(time) AS window_start,
    sum(events.cost) AS cost, sumIf(events.cost, events.decision = 'unverified') AS unverified_cost, count() AS events FROM events GROUP BY subject, type, window_start`,
  `CREATE TABLE event_keys (source String, id String, subject String, time DateTime64(3, 'UTC'), dedupe_until DateTime('UTC'))
    ENGINE = MergeTree PARTITION BY toMonday(dedupe_until) ORDER BY (source, id) TTL dedupe_until SETTINGS ttl_only_drop_parts = 1`,
  `CREATE TABLE write_receipts (write_id String, events UInt64, at DateTime('UTC') DEFAULT now()) ENGINE = MergeTree ORDER BY write_id TTL at + INTERVAL 1 DAY`,
  `CREATE MATERIALIZED VIEW events_keys_mv TO event_keys AS SELECT source, id, subject, time, dedupe_until FROM events`,
  `CREATE MATERIALIZED VIEW events_receipts_mv TO write_receipts AS SELECT write_id, count() AS events FROM events WHERE write_id != '' GROUP BY write_id`,
];

const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);
const event = (i: number): StoredEvent => ({
  source: 'gw',
  id: `up-${i}`,
  type: 'api.call',
  subject: `tpp-up-${i % 3}`,
  timeMs: T0 + i * 1_000,
  data: '{}',
  cost: 1 + (i % 4),
  decision: i % 5 === 0 ? 'unverified' : 'debited',
});

describe('migrate: a data directory of the earlier schema', () => {
  it('turns usage_1m, event_keys and write_receipts into views of events, losing and doubling nothing, idempotently', async () => {
    const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-upgrade-')) });
    const scalars = async (query: string) => (await (await ch.query({ query, format: 'JSONEachRow' })).json<Record<string, string | number>>())[0] ?? {};
    const usage = () => scalars('SELECT sum(cost) AS cost, sum(unverified_cost) AS unverified, sum(events) AS n FROM usage_1m');
    const stored = () => scalars("SELECT sum(events.cost) AS cost, sumIf(events.cost, events.decision = 'unverified') AS unverified, count() AS n FROM events");
    const landing = MIGRATIONS.filter((m) => m.name.startsWith('events_landing'));
    for (const m of MIGRATIONS.filter((m) => m.version <= 13)) await ch.command({ query: m.sql });
    for (const sql of [...EARLIER_TABLES, ...landing.map((m) => m.sql)]) await ch.command({ query: sql });

    const writer = new EventWriter({ clickhouse: ch, logger: createLogger('test', 'silent'), writer: 'test' });
    const batch = Array.from({ length: 600 }, (_, i) => event(i));
    expect(await writer.write(batch)).toEqual({ inserted: 600, alreadyPresent: 0, refused: [] });
    // What a kill in the middle of an insert left behind: the events and their keys, their usage short.
    await ch.command({ query: "ALTER TABLE usage_1m DELETE WHERE subject = 'tpp-up-1'", clickhouse_settings: { mutations_sync: '1' } });
    const before = await stored();
    expect(Number((await usage()).cost)).toBeLessThan(Number(before.cost));

    await migrate(ch);
    await migrate(ch);
    const kinds = await ch.query({
      query: "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name IN ('usage_1m', 'event_keys', 'write_receipts', 'usage_1m_mv', 'events_keys_mv', 'events_receipts_mv') ORDER BY name",
      format: 'JSONEachRow',
    });
    expect(await kinds.json()).toEqual(['event_keys', 'usage_1m', 'write_receipts'].map((name) => ({ name, engine: 'View' })));
    expect(await stored()).toEqual(before);
    expect(await usage()).toEqual(before);
    // The parts stored before the upgrade get the projections in the background.
    await waitFor(async () => Number((await scalars("SELECT count() AS n FROM system.mutations WHERE table = 'events' AND NOT is_done")).n) === 0, {
      timeoutMs: 30_000,
      what: 'the projections materialized',
    });
    const withProjections = await scalars("SELECT uniqExact(parent_name) AS parts, uniqExact(name) AS projections FROM system.projection_parts WHERE table = 'events' AND active");
    expect(Number(withProjections.projections)).toBe(3);
    expect(Number(withProjections.parts)).toBe(Number((await scalars("SELECT count() AS n FROM system.parts WHERE table = 'events' AND active")).n));

    // The keys stored before the upgrade are still recognised; new ones are stored once, with their usage.
    expect(await writer.write(batch)).toEqual({ inserted: 0, alreadyPresent: 600, refused: [] });
    expect(await writer.write([...batch.slice(0, 10), event(600), event(601)])).toEqual({ inserted: 2, alreadyPresent: 10, refused: [] });
    expect(await usage()).toEqual(await stored());
    expect(Number((await stored()).n)).toBe(602);
  });
});
