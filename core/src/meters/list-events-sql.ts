import { clickHouseTime } from '../clickhouse/time.ts';
import type { SqlQuery } from '../clickhouse/sql-query.ts';

/** The filters of OpenMeter's `GET /api/v1/events`, checked; times in epoch milliseconds. */
export interface EventListFilter {
  /** Event time, inclusive. */
  from: number;
  /** Event time, inclusive. */
  to?: number | undefined;
  /** When ClickHouse stored the event, inclusive. */
  ingestedAtFrom?: number | undefined;
  /** When ClickHouse stored the event, inclusive. */
  ingestedAtTo?: number | undefined;
  /** Part of the event id. */
  id?: string | undefined;
  /** Part of the subject. */
  subject?: string | undefined;
  limit: number;
}

/** One listed event, as the query answers it. */
export interface ListedEventRow {
  source: string;
  id: string;
  type: string;
  subject: string;
  time_ms: string;
  data: string;
  ingested_ms: string;
}

/**
 * The stored events matching the filter, newest first. `id` and `subject` match any part
 * (OpenMeter's "accepts partial"), as plain text: no character of them is a wildcard. Each
 * (source, id) once, should a copy not yet be folded by the table's merges.
 */
export const listEventsSql = (f: EventListFilter): SqlQuery => {
  const params: Record<string, unknown> = { from: clickHouseTime(f.from), limit: f.limit };
  const where = ["time >= {from:DateTime64(3, 'UTC')}"];
  const time = (name: keyof EventListFilter, condition: string) => {
    const value = f[name];
    if (typeof value !== 'number') return;
    params[name] = clickHouseTime(value);
    where.push(condition);
  };
  time('to', "time <= {to:DateTime64(3, 'UTC')}");
  time('ingestedAtFrom', "ingested_at >= {ingestedAtFrom:DateTime64(3, 'UTC')}");
  time('ingestedAtTo', "ingested_at <= {ingestedAtTo:DateTime64(3, 'UTC')}");
  for (const name of ['id', 'subject'] as const) {
    const value = f[name];
    if (value === undefined) continue;
    params[name] = value;
    where.push(`position(${name}, {${name}:String}) > 0`);
  }
  return {
    query: [
      'SELECT source, id, type, subject, toString(toUnixTimestamp64Milli(time)) AS time_ms, data, toString(toUnixTimestamp64Milli(ingested_at)) AS ingested_ms',
      'FROM events',
      `WHERE ${where.join(' AND ')}`,
      'ORDER BY time DESC, ingested_at DESC, source, id',
      'LIMIT 1 BY source, id',
      'LIMIT {limit:UInt32}',
    ].join('\n'),
    params,
  };
};
