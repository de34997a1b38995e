import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../clickhouse/sql-query.ts';
import type { Meter, WindowSize } from './meter.ts';
import { buildMeterQuery, type MeterQuery } from './query-sql.ts';

/** One row of an OpenMeter-compatible query answer. */
export interface MeterRow {
  value: number;
  windowStart: string;
  windowEnd: string;
  subject: string | null;
  groupBy: Record<string, string | null>;
}

/** A query answer as OpenMeter's `MeterQueryResult`. */
export interface MeterAnswer {
  /** The range the rows cover: as asked, or from the minute of the first event and up to now. */
  from?: string;
  to: string;
  windowSize?: WindowSize;
  data: MeterRow[];
}

type Row = Record<string, string | number>;

export const isoTime = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * Runs a meter query and shapes the answer as OpenMeter does. Without a window, every row spans
 * the query's range: `from` as asked (else the minute of the first event), `to` as asked (else
 * now, or the end of the minute of the last event when that is later).
 */
export const queryMeter = async (ch: ClickHouseClient, meter: Meter, q: MeterQuery, nowMs: number = Date.now()): Promise<MeterAnswer> => {
  const { query, params, columns } = buildMeterQuery(meter, q);
  const rows = await queryRows<Row>(ch, { query, params });
  const firstMs = Math.min(...rows.map((r) => Number(r.first_minute) * 1000));
  const lastMs = Math.max(nowMs, ...rows.map((r) => Number(r.last_minute_end) * 1000));
  const from = q.from ?? (rows.length > 0 ? firstMs : undefined);
  const to = q.to ?? lastMs;
  const data = rows.map((row): MeterRow => {
    const groupBy: Record<string, string | null> = {};
    for (const [key, column] of Object.entries(columns)) {
      if (key !== 'subject') groupBy[key] = row[column] === undefined ? null : String(row[column]);
    }
    return {
      value: Number(row.value),
      windowStart: isoTime(q.windowSize ? Number(row.window_start) * 1000 : (from ?? firstMs)),
      windowEnd: isoTime(q.windowSize ? Number(row.window_end) * 1000 : to),
      subject: columns.subject ? String(row[columns.subject]) : null,
      groupBy,
    };
  });
  return { ...(from !== undefined ? { from: isoTime(from) } : {}), to: isoTime(to), ...(q.windowSize ? { windowSize: q.windowSize } : {}), data };
};
