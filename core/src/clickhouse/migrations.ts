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
    // Raw events. (source, id) identifies an event; the sink inserts each pair once, and the
    // Replacing engine folds any copy that still slips through when parts merge.
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
];

export const migrate = async (client: ClickHouseClient): Promise<void> => {
  for (const m of MIGRATIONS) await client.command({ query: m.sql });
};
