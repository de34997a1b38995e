import { clickHouseTime } from '../clickhouse/time.ts';
import type { Aggregation, Meter, WindowSize } from './meter.ts';

export interface MeterQuery {
  /** Epoch milliseconds, inclusive. */
  from?: number;
  /** Epoch milliseconds, exclusive. */
  to?: number;
  windowSize?: WindowSize;
  /** IANA time zone the windows are aligned in. */
  windowTimeZone: string;
  subjects: string[];
  /** Group-by keys requested; 'subject' or keys of the meter's groupBy. */
  groupBy: string[];
  /** Exact-match filters on the meter's groupBy keys. */
  filterGroupBy: Record<string, string>;
}

export interface BuiltSql {
  query: string;
  params: Record<string, unknown>;
  /** Result column of each requested group-by key. */
  columns: Record<string, string>;
}

const WINDOW_INTERVAL: Record<WindowSize, string> = { MINUTE: 'INTERVAL 1 MINUTE', HOUR: 'INTERVAL 1 HOUR', DAY: 'INTERVAL 1 DAY' };

/**
 * The SQL of a meter query. A pure function: every value (event type, paths, subjects,
 * filters, time range, time zone) is a query parameter; the only text it writes into the
 * SQL is generated column names and the fixed fragments above.
 */
export const buildMeterQuery = (meter: Meter, q: MeterQuery): BuiltSql => {
  const params: Record<string, unknown> = { eventType: meter.eventType };
  const select: string[] = [];
  const where: string[] = ['type = {eventType:String}'];
  const group: string[] = [];
  const columns: Record<string, string> = {};

  const pathArgs = (path: string[], prefix: string) =>
    path.map((key, i) => {
      params[`${prefix}_${i}`] = key;
      return `{${prefix}_${i}:String}`;
    });
  const extractString = (path: string[], prefix: string) => `JSONExtractString(data, ${pathArgs(path, prefix).join(', ')})`;
  const extractNumber = (path: string[], prefix: string) => `JSONExtractFloat(data, ${pathArgs(path, prefix).join(', ')})`;

  if (q.windowSize) {
    params.tz = q.windowTimeZone;
    const start = `toStartOfInterval(toTimeZone(time, {tz:String}), ${WINDOW_INTERVAL[q.windowSize]})`;
    select.push(`toUnixTimestamp(${start}) AS window_start`, `toUnixTimestamp(${start} + ${WINDOW_INTERVAL[q.windowSize]}) AS window_end`);
    group.push('window_start', 'window_end');
  } else {
    select.push('toUnixTimestamp64Milli(min(time)) AS first_time', 'toUnixTimestamp64Milli(max(time)) AS last_time');
  }

  const value = meter.valuePath ? extractNumber(meter.valuePath, 'value') : '';
  const aggregate: Record<Aggregation, string> = {
    COUNT: 'toFloat64(count())',
    SUM: `sum(${value})`,
    AVG: `avg(${value})`,
    MIN: `min(${value})`,
    MAX: `max(${value})`,
    UNIQUE_COUNT: meter.valuePath ? `toFloat64(uniqExact(${extractString(meter.valuePath, 'value')}))` : '',
    LATEST: `argMax(${value}, time)`,
  };
  select.push(`${aggregate[meter.aggregation]} AS value`);

  q.groupBy.forEach((key, i) => {
    if (key === 'subject') {
      columns.subject = 'subject';
      if (!group.includes('subject')) {
        select.push('subject');
        group.push('subject');
      }
      return;
    }
    const path = meter.groupByPaths[key];
    if (!path) return;
    const column = `group_${i}`;
    columns[key] = column;
    select.push(`${extractString(path, `group_${i}`)} AS ${column}`);
    group.push(column);
  });

  if (q.from !== undefined) {
    params.from = clickHouseTime(q.from);
    where.push("time >= {from:DateTime64(3, 'UTC')}");
  }
  if (q.to !== undefined) {
    params.to = clickHouseTime(q.to);
    where.push("time < {to:DateTime64(3, 'UTC')}");
  }
  if (q.subjects.length > 0) {
    params.subjects = q.subjects;
    where.push('subject IN {subjects:Array(String)}');
  }
  Object.entries(q.filterGroupBy).forEach(([key, expected], i) => {
    const path = meter.groupByPaths[key];
    if (!path) return;
    params[`filter_${i}`] = expected;
    where.push(`${extractString(path, `filter_${i}_path`)} = {filter_${i}:String}`);
  });

  const query = [
    `SELECT ${select.join(', ')}`,
    'FROM events',
    `WHERE ${where.join(' AND ')}`,
    ...(group.length > 0 ? [`GROUP BY ${group.join(', ')}`] : []),
    ...(q.windowSize ? [`ORDER BY ${['window_start', ...group.filter((g) => !g.startsWith('window_'))].join(', ')}`] : group.length > 0 ? [`ORDER BY ${group.join(', ')}`] : []),
  ].join('\n');
  return { query, params, columns };
};
