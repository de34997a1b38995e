import type { ClickHouseClient } from '@clickhouse/client';
import type { Meter } from './meter.ts';
import { buildMeterQuery, type MeterQuery } from './query-sql.ts';

/** One row of an OpenMeter-compatible query answer. */
export interface MeterRow {
  value: number;
  windowStart: string;
  windowEnd: string;
  subject: string | null;
  groupBy: Record<string, string | null>;
}

type Row = Record<string, string | number>;

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** Runs a meter query and shapes the rows as OpenMeter does. */
export const queryMeter = async (ch: ClickHouseClient, meter: Meter, q: MeterQuery): Promise<MeterRow[]> => {
  const { query, params, columns } = buildMeterQuery(meter, q);
  const result = await ch.query({ query, query_params: params, format: 'JSONEachRow' });
  const rows = await result.json<Row>();
  return rows.flatMap((row) => {
    const windowed = q.windowSize !== undefined;
    if (!windowed && Number(row.value) === 0 && Number(row.first_time) === 0) return [];
    const start = windowed ? Number(row.window_start) * 1000 : (q.from ?? Number(row.first_time));
    const end = windowed ? Number(row.window_end) * 1000 : (q.to ?? Number(row.last_time));
    const groupBy: Record<string, string | null> = {};
    for (const [key, column] of Object.entries(columns)) {
      if (key !== 'subject') groupBy[key] = row[column] === undefined ? null : String(row[column]);
    }
    return [
      {
        value: Number(row.value),
        windowStart: iso(start),
        windowEnd: iso(end),
        subject: columns.subject ? String(row[columns.subject]) : null,
        groupBy,
      },
    ];
  });
};
