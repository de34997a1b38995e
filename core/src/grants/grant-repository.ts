import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../clickhouse/sql-query.ts';
import { clickHouseTime } from '../clickhouse/time.ts';

export interface Grant {
  subject: string;
  idempotencyKey: string;
  amount: number;
  reason: string;
  bodyHash: string;
  /** ISO 8601, milliseconds, UTC. */
  createdAt: string;
}

interface GrantRow {
  subject: string;
  idempotency_key: string;
  amount: string | number;
  reason: string;
  body_hash: string;
  created_at: string;
}

const toGrant = (r: GrantRow): Grant => ({
  subject: r.subject,
  idempotencyKey: r.idempotency_key,
  amount: Number(r.amount),
  reason: r.reason,
  bodyHash: r.body_hash,
  createdAt: `${r.created_at.replace(' ', 'T')}Z`,
});

/** Durable top-ups in ClickHouse: the truth that Valkey balances are rebuilt from. */
export class GrantRepository {
  readonly #ch: ClickHouseClient;
  constructor(ch: ClickHouseClient) {
    this.#ch = ch;
  }

  async insert(grant: Grant): Promise<void> {
    await this.#ch.insert({
      table: 'credit_grants',
      format: 'JSONEachRow',
      values: [
        {
          subject: grant.subject,
          idempotency_key: grant.idempotencyKey,
          amount: grant.amount,
          reason: grant.reason,
          body_hash: grant.bodyHash,
          created_at: clickHouseTime(Date.parse(grant.createdAt)),
        },
      ],
    });
  }

  async find(subject: string, idempotencyKey: string): Promise<Grant | undefined> {
    const rows = await this.#query(
      `SELECT subject, idempotency_key, amount, reason, body_hash, created_at FROM credit_grants
       WHERE subject = {subject:String} AND idempotency_key = {key:String}
       ORDER BY created_at LIMIT 1`,
      { subject, key: idempotencyKey },
    );
    return rows[0];
  }

  /**
   * Σ grants of a subject, one per idempotency key (the earliest row, as reconciliation counts
   * them), summed as Int128 so that no sum wraps, and read exactly as a bigint.
   */
  async total(subject: string): Promise<bigint> {
    const [row] = await queryRows<{ total: string }>(this.#ch, {
      query: `SELECT toString(sum(toInt128(amount))) AS total FROM (
        SELECT argMin(amount, created_at) AS amount FROM credit_grants
        WHERE subject = {subject:String} GROUP BY idempotency_key)`,
      params: { subject },
    });
    return BigInt(row?.total ?? '0');
  }

  /** One row per idempotency key, oldest first. */
  async list(subject: string, limit = 1000): Promise<Grant[]> {
    return this.#query(
      `SELECT subject, idempotency_key, amount, reason, body_hash, created_at FROM credit_grants
       WHERE subject = {subject:String}
       ORDER BY created_at, idempotency_key
       LIMIT 1 BY idempotency_key
       LIMIT {limit:UInt32}`,
      { subject, limit },
    );
  }

  async #query(query: string, params: Record<string, unknown>): Promise<Grant[]> {
    return (await queryRows<GrantRow>(this.#ch, { query, params })).map(toGrant);
  }
}
