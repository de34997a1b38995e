import type { ClickHouseClient } from '@clickhouse/client';

/**
 * The ClickHouse schema, in order. Each table is defined here once; every statement is
 * idempotent, so the list runs at every start and a partially applied run is completed.
 */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
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
    version: 3,
    name: 'usage_1m',
    // One-minute tumbling windows per subject and event type: the input of reconciliation.
    sql: `CREATE TABLE IF NOT EXISTS usage_1m (
      subject String,
      type LowCardinality(String),
      window_start DateTime('UTC'),
      cost SimpleAggregateFunction(sum, Int64),
      unverified_cost SimpleAggregateFunction(sum, Int64),
      events SimpleAggregateFunction(sum, UInt64)
    ) ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(window_start)
    ORDER BY (subject, type, window_start)`,
  },
  {
    version: 4,
    name: 'usage_1m_mv',
    sql: `CREATE MATERIALIZED VIEW IF NOT EXISTS usage_1m_mv TO usage_1m AS
    SELECT subject, type, toStartOfMinute(time) AS window_start,
           sum(events.cost) AS cost, sumIf(events.cost, events.decision = 'unverified') AS unverified_cost, count() AS events
    FROM events
    GROUP BY subject, type, window_start`,
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
    version: 10,
    name: 'event_keys',
    // The (source, id) of every event stored within the dedupe horizon, ordered for the writer's
    // lookup of a batch's keys (time-ordered ids, as the gateway's, fall in the last granules).
    // Each key carries its own expiry, so DEDUPE_HORIZON_DAYS is the writer's setting and no DDL
    // follows it; whole weekly parts are dropped once every key in them has expired. The stored
    // copy's subject and time are kept so that a repair deletes the keys of the minutes it deletes
    // from events (README, "Reconciliation and replay"). Created with the keys of the events
    // stored in the last 32 days (the shortest horizon), once: a table that exists is left as it is.
    sql: `CREATE TABLE IF NOT EXISTS event_keys (
      source String,
      id String,
      subject String,
      time DateTime64(3, 'UTC'),
      dedupe_until DateTime('UTC')
    ) ENGINE = MergeTree
    PARTITION BY toMonday(dedupe_until)
    ORDER BY (source, id)
    TTL dedupe_until
    SETTINGS ttl_only_drop_parts = 1
    AS SELECT source, id, subject, time, toDateTime(ingested_at, 'UTC') + INTERVAL 32 DAY AS dedupe_until
    FROM events WHERE ingested_at >= now() - INTERVAL 32 DAY`,
  },
  {
    version: 11,
    name: 'write_receipts',
    // How many events each write stored (the landing view drops the rest): the writer reads its
    // own receipt after the insert. Kept a day.
    sql: `CREATE TABLE IF NOT EXISTS write_receipts (
      write_id String,
      events UInt64,
      at DateTime('UTC') DEFAULT now()
    ) ENGINE = MergeTree
    ORDER BY write_id
    TTL at + INTERVAL 1 DAY`,
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
    // Which write stored an event, and until when its key is remembered: the views below copy them
    // to write_receipts and event_keys. Rows inserted into events directly take the defaults.
    sql: `ALTER TABLE events
      ADD COLUMN IF NOT EXISTS write_id String DEFAULT '',
      ADD COLUMN IF NOT EXISTS dedupe_until DateTime('UTC') DEFAULT now() + INTERVAL 32 DAY`,
  },
  {
    version: 14,
    name: 'events_keys_mv',
    // Views of events, not of the landing table: ClickHouse writes a table before it pushes the
    // block to the table's views, so a key is remembered only once its event is stored (an insert
    // that events refused leaves no key behind that would drop the event on its retry).
    sql: `CREATE MATERIALIZED VIEW IF NOT EXISTS events_keys_mv TO event_keys AS
    SELECT source, id, subject, time, dedupe_until FROM events`,
  },
  {
    version: 15,
    name: 'events_receipts_mv',
    sql: `CREATE MATERIALIZED VIEW IF NOT EXISTS events_receipts_mv TO write_receipts AS
    SELECT write_id, count() AS events FROM events WHERE write_id != '' GROUP BY write_id`,
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
    // lookup reads only the block's keys (the subqueries over events_landing see the block). What
    // passes goes to events, whose views write usage_1m, event_keys and the write's receipt.
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

export const migrate = async (client: ClickHouseClient): Promise<void> => {
  for (const m of MIGRATIONS) await client.command({ query: m.sql });
};
