import type { ClickHouseClient } from '@clickhouse/client';

export interface Migration {
  /**
   * When it was introduced; the list runs in its own order. 3, 4, 10, 11, 14 and 15 made usage_1m,
   * event_keys, write_receipts and the views that filled them as tables; 18 to 31 replace them.
   */
  version: number;
  name: string;
  sql: string;
  /** A query that returns a row when `sql` is still to run (a step no IF [NOT] EXISTS can guard). */
  onlyIf?: string;
}

/** A row while `name` is missing or not a view yet (a table of the earlier schema). */
const notYetView = (name: string) =>
  `SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM system.tables WHERE database = currentDatabase() AND name = '${name}' AND engine = 'View')`;
/** A row while `name` is a table (of the earlier schema). */
const stillTable = (name: string) =>
  `SELECT 1 FROM system.tables WHERE database = currentDatabase() AND name = '${name}' AND engine != 'View'`;

/**
 * The ClickHouse schema, in order. Each table is defined here once; every statement is
 * idempotent, so the list runs at every start and a partially applied run is completed.
 */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'credit_grants',
    // A grant row per idempotency key; a retried write may insert the same key again, so
    // readers take one row per (subject, idempotency_key) — the earliest. Plain MergeTree:
    // a merge must never replace the earliest row that readers answer with.
    sql: `CREATE TABLE IF NOT EXISTS credit_grants (
      subject String,
      idempotency_key String,
      amount Int64,
      reason String,
      body_hash String,
      created_at DateTime64(3, 'UTC')
    ) ENGINE = MergeTree
    ORDER BY (subject, idempotency_key)`,
  },
  {
    version: 2,
    name: 'events',
    // Raw events. (source, id) identifies an event; the event writer stores each pair once
    // through events_landing (below), and the Replacing engine folds an identical row that still
    // slips through when parts merge.
    sql: `CREATE TABLE IF NOT EXISTS events (
      source String,
      id String,
      type LowCardinality(String),
      subject String,
      time DateTime64(3, 'UTC'),
      data String,
      cost Int64,
      decision LowCardinality(String),
      ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(time)
    ORDER BY (subject, time, source, id)`,
  },
  {
    version: 5,
    name: 'ledger_adjustments',
    // Drift found by reconciliation: one entry per balance change, with its own id. Only a run
    // that changed the balance writes one (a late event can make a second run at the same
    // watermark change it again: a second entry); a retried write of the same entry has the
    // same id, and the Replacing engine folds it.
    sql: `CREATE TABLE IF NOT EXISTS ledger_adjustments (
      subject String,
      change_id String,
      watermark DateTime('UTC'),
      previous_watermark Nullable(DateTime('UTC')),
      balance_before Int64,
      balance_after Int64,
      amount Int64,
      cause LowCardinality(String),
      details String,
      created_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree
    ORDER BY (subject, change_id)`,
  },
  {
    version: 6,
    name: 'realtime_debits',
    // The real-time debits reconciliation settled: Valkey drops a minute's buckets when it
    // settles them, and they are kept here for the reconciliation report.
    sql: `CREATE TABLE IF NOT EXISTS realtime_debits (
      subject String,
      minute DateTime('UTC'),
      cost Int64,
      watermark DateTime('UTC'),
      recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = MergeTree
    PARTITION BY toYYYYMM(minute)
    ORDER BY (subject, minute)`,
  },
  {
    version: 7,
    name: 'meters',
    // Meters created over the OpenMeter API; configured meters are not stored. A create inserts
    // its row and a delete inserts a deletion row for the slug (definition ''), both stamped by
    // the server's clock. The meter of a slug is its earliest row after the slug's last deletion
    // (core/src/meters/stored-meter-sql.ts), so a later row for a live slug is never a meter.
    sql: `CREATE TABLE IF NOT EXISTS meters (
      slug String,
      id String,
      definition String,
      deleted UInt8,
      created_at DateTime64(6, 'UTC') DEFAULT now64(6)
    ) ENGINE = MergeTree
    ORDER BY (slug, created_at)`,
  },
  {
    version: 8,
    name: 'subjects',
    // Subjects (a TPP's display name and metadata) written over the OpenMeter API. An upsert
    // inserts one row with the fields it sent (the *_set flags), a delete a deletion row; a
    // field's value is that of the latest row after the key's last deletion that set it
    // (core/src/subjects/subject-sql.ts), so upserts of different fields never undo each other.
    sql: `CREATE TABLE IF NOT EXISTS subjects (
      key String,
      id String,
      display_name Nullable(String),
      display_name_set UInt8,
      metadata Nullable(String),
      metadata_set UInt8,
      deleted UInt8,
      write_id String,
      written_at DateTime64(6, 'UTC') DEFAULT now64(6)
    ) ENGINE = MergeTree
    ORDER BY (key, written_at)`,
  },
  {
    version: 9,
    name: 'realtime_debits_change_id',
    // Settled debits are written under their change's id, so a write retried after a crash
    // (the change was still pending) is read once.
    sql: `ALTER TABLE realtime_debits ADD COLUMN IF NOT EXISTS change_id String DEFAULT ''`,
  },
  {
    version: 12,
    name: 'write_fences',
    // Who may write a stream (the sink: a topic-partition). A writer that takes a stream over
    // claims it with the next seq; the claim with the highest (seq, token) is the owner's, and the
    // landing view drops the rows of any other. Never pruned: a stream's newest claim must stay
    // (a few rows per rebalance).
    sql: `CREATE TABLE IF NOT EXISTS write_fences (
      fence_key String,
      seq UInt64,
      token String,
      claimed_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = MergeTree
    ORDER BY (fence_key, seq, token)`,
  },
  {
    version: 13,
    name: 'events_write_columns',
    // Which write stored an event, and until when its key is remembered (the projections below keep
    // them for the receipts and the keys). Rows inserted into events directly take the defaults.
    sql: `ALTER TABLE events
      ADD COLUMN IF NOT EXISTS write_id String DEFAULT '',
      ADD COLUMN IF NOT EXISTS dedupe_until DateTime('UTC') DEFAULT now() + INTERVAL 32 DAY`,
  },
  // What one insert stores is one part of one table: the events with their projections (per-minute
  // usage, the keys in (source, id) order, the count per write) are written, merged and deleted
  // together, so a crash in the middle of an insert leaves all of them or none. (Before, views
  // wrote usage_1m, event_keys and write_receipts as parts of their own: a kill could keep the
  // events and their keys and lose their usage, which the dedupe then never sent again.)
  {
    version: 18,
    name: 'events_projection_merges',
    // A merge that folds a repeated row rebuilds the projections from the rows it keeps, so the
    // usage counts the row once (a Replacing table takes projections only with this setting).
    sql: `ALTER TABLE events MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'`,
  },
  {
    version: 19,
    name: 'events_usage_1m_projection',
    // One-minute tumbling windows per subject and event type: the input of reconciliation (usage_1m).
    sql: `ALTER TABLE events ADD PROJECTION IF NOT EXISTS usage_1m_minutes (
      SELECT subject, type, toStartOfMinute(toDateTime(time, 'UTC')), sum(cost), sumIf(cost, decision = 'unverified'), count()
      GROUP BY subject, type, toStartOfMinute(toDateTime(time, 'UTC')))`,
  },
  {
    version: 20,
    name: 'events_keys_projection',
    // The stored keys in the writer's lookup order (time-ordered ids, as the gateway's, fall in the
    // last granules of each part), with the copy's subject and time and its key's expiry (event_keys).
    sql: `ALTER TABLE events ADD PROJECTION IF NOT EXISTS keys_by_id (
      SELECT source, id, subject, time, dedupe_until ORDER BY (source, id))`,
  },
  {
    version: 21,
    name: 'events_receipts_projection',
    // How many events each write stored (the landing view drops the rest): write_receipts.
    sql: `ALTER TABLE events ADD PROJECTION IF NOT EXISTS events_per_write (SELECT write_id, count() GROUP BY write_id)`,
  },
  {
    version: 22,
    name: 'events_projections_materialized',
    // Parts stored before the projections existed get them in the background (once, on upgrade).
    // Until then a query reads such a part's rows instead: slower, never different.
    sql: `ALTER TABLE events MATERIALIZE PROJECTION usage_1m_minutes, MATERIALIZE PROJECTION keys_by_id, MATERIALIZE PROJECTION events_per_write`,
    onlyIf: notYetView('usage_1m'),
  },
  // The tables of the earlier schema hold nothing that events does not (they were copies made at
  // insert, or fewer where a crash cut one short): each becomes a view of events with its columns.
  // The view that filled it goes first, and the three steps of a table follow each other, so the
  // instant in which a concurrent insert fails or misses a key is as short as it can be.
  { version: 23, name: 'drop_usage_1m_mv', sql: 'DROP VIEW IF EXISTS usage_1m_mv' },
  { version: 24, name: 'drop_usage_1m_table', sql: 'DROP TABLE IF EXISTS usage_1m', onlyIf: stillTable('usage_1m') },
  {
    version: 25,
    name: 'usage_1m',
    // Answered from usage_1m_minutes (the query's filters reach the projection through the view).
    sql: `CREATE VIEW IF NOT EXISTS usage_1m AS
    SELECT subject, type, toStartOfMinute(toDateTime(time, 'UTC')) AS window_start,
           sum(events.cost) AS cost, sumIf(events.cost, events.decision = 'unverified') AS unverified_cost, count() AS events
    FROM events
    GROUP BY subject, type, window_start`,
  },
  { version: 26, name: 'drop_events_keys_mv', sql: 'DROP VIEW IF EXISTS events_keys_mv' },
  { version: 27, name: 'drop_event_keys_table', sql: 'DROP TABLE IF EXISTS event_keys', onlyIf: stillTable('event_keys') },
  {
    version: 28,
    name: 'event_keys',
    // The keys stored within the dedupe horizon (each carries its own expiry, so
    // DEDUPE_HORIZON_DAYS is the writer's setting and no DDL follows it), from keys_by_id.
    sql: `CREATE VIEW IF NOT EXISTS event_keys AS
    SELECT source, id, subject, time, dedupe_until FROM events WHERE dedupe_until > now()`,
  },
  { version: 29, name: 'drop_events_receipts_mv', sql: 'DROP VIEW IF EXISTS events_receipts_mv' },
  { version: 30, name: 'drop_write_receipts_table', sql: 'DROP TABLE IF EXISTS write_receipts', onlyIf: stillTable('write_receipts') },
  {
    version: 31,
    name: 'write_receipts',
    // The writer reads its own receipt after the insert, from events_per_write.
    sql: `CREATE VIEW IF NOT EXISTS write_receipts AS SELECT write_id, count() AS events FROM events GROUP BY write_id`,
  },
  {
    version: 16,
    name: 'events_landing',
    // Where the writer inserts: nothing is kept here, the landing view decides what is stored.
    sql: `CREATE TABLE IF NOT EXISTS events_landing (
      source String,
      id String,
      type String,
      subject String,
      time DateTime64(3, 'UTC'),
      data String,
      cost Int64,
      decision String,
      write_id String,
      dedupe_until DateTime('UTC'),
      fence_key String,
      fence_token String
    ) ENGINE = Null`,
  },
  {
    version: 17,
    name: 'events_landing_mv',
    // The check and the insert are one statement: the view runs on each inserted block, inside
    // the writer's INSERT, so no client-side pause can fall between them (event-writer.ts and
    // write-fence.ts say why that suffices). A row passes when its writer still owns its stream
    // (or writes none), its (source, id) is not stored yet, and it is the block's first copy; the
    // lookup reads only the block's keys (the subqueries over events_landing see the block), from
    // keys_by_id. What passes goes to events, in one part per month with its projections.
    sql: `CREATE MATERIALIZED VIEW IF NOT EXISTS events_landing_mv TO events AS
    SELECT source, id, type, subject, time, data, cost, decision, write_id, dedupe_until
    FROM events_landing
    WHERE (fence_key = '' OR fence_token = (
            SELECT argMax(token, (seq, token)) FROM write_fences
            WHERE fence_key IN (SELECT fence_key FROM events_landing)))
      AND (source, id) NOT IN (
            SELECT source, id FROM event_keys
            WHERE (source, id) IN (SELECT source, id FROM events_landing))
    LIMIT 1 BY source, id`,
  },
];

const due = async (client: ClickHouseClient, query: string): Promise<boolean> =>
  (await (await client.query({ query, format: 'JSONEachRow' })).json()).length > 0;

export const migrate = async (client: ClickHouseClient): Promise<void> => {
  for (const m of MIGRATIONS) if (m.onlyIf === undefined || (await due(client, m.onlyIf))) await client.command({ query: m.sql });
};
