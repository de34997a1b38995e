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
    // readers take one row per (subject, idempotency_key) — the earliest.
    sql: `CREATE TABLE IF NOT EXISTS credit_grants (
      subject String,
      idempotency_key String,
      amount Int64,
      reason String,
      body_hash String,
      created_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree
    ORDER BY (subject, idempotency_key)`,
  },
];

export const migrate = async (client: ClickHouseClient): Promise<void> => {
  for (const m of MIGRATIONS) await client.command({ query: m.sql });
};
