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
  /** Filters on the meter's groupBy keys: the value is one of these. */
  filterGroupBy: Record<string, string[]>;
}

export interface BuiltSql {
  query: string;
  params: Record<string, unknown>;
  /** Result column of each requested group-by key. */
  columns: Record<string, string>;
}

const INTERVAL: Record<WindowSize, string> = { MINUTE: 'INTERVAL 1 MINUTE', HOUR: 'INTERVAL 1 HOUR', DAY: 'INTERVAL 1 DAY', MONTH: 'INTERVAL 1 MONTH' };

/**
 * A decimal number as a string value may hold it ("12.5", "-3", "1e3"): the strings OpenMeter
 * parses as numbers; "NaN", "Inf", "0x10" and the empty string are not.
 */
export const NUMERIC_TEXT = '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$';

/**
 * The SQL of a meter query. A pure function: every value (event type, paths, subjects,
 * filters, time range, time zone) is a query parameter; the only text it writes into the
 * SQL is generated column names and the fixed fragments above.
 *
 * OpenMeter's semantics for values: an event whose value property is missing, null, not a
 * number (or, for UNIQUE_COUNT, not a scalar), NaN or ±Inf contributes nothing to the meter's
 * value — never a 0, and never a NaN that poisons the sum — and a group whose events all lack
 * it has no row (`contributed`). COUNT counts every event.
 */
export const buildMeterQuery = (meter: Meter, q: MeterQuery): BuiltSql => {
  const params: Record<string, unknown> = { eventType: meter.eventType };
  const select: string[] = [];
  const where: string[] = ['type = {eventType:String}'];
  const group: string[] = [];
  const columns: Record<string, string> = {};

  const keysOf = (path: string[], prefix: string) =>
    path
      .map((key, i) => {
        params[`${prefix}_${i}`] = key;
        return `{${prefix}_${i}:String}`;
      })
      .join(', ');
  /** The value as text, as OpenMeter reads a group-by value: a string as is, other scalars as JSON, '' when missing or null. */
  const scalarText = (keys: string) =>
    `multiIf(JSONType(data, ${keys}) = 'String', JSONExtractString(data, ${keys}), JSONType(data, ${keys}) = 'Null', '', JSONExtractRaw(data, ${keys}))`;

  const tz = q.windowTimeZone;
  if (q.windowSize) {
    params.tz = tz;
    const zoned = 'toTimeZone(time, {tz:String})';
    // A month starts as a Date; as a DateTime in the zone its start is the zone's midnight.
    const start =
      q.windowSize === 'MONTH' ? `toDateTime(toStartOfMonth(${zoned}), {tz:String})` : `toStartOfInterval(${zoned}, ${INTERVAL[q.windowSize]})`;
    select.push(`toUnixTimestamp(${start}) AS window_start`, `toUnixTimestamp(${start} + ${INTERVAL[q.windowSize]}) AS window_end`);
    group.push('window_start', 'window_end');
  }
  // Whole minutes, as OpenMeter: the span of the events, from the minute of the first to the end of the minute of the last.
  select.push('toUnixTimestamp(toStartOfMinute(min(time))) AS first_minute', 'toUnixTimestamp(toStartOfMinute(max(time))) + 60 AS last_minute_end');

  let having = 'count() > 0';
  if (meter.aggregation !== 'COUNT' && meter.valuePath) {
    const keys = keysOf(meter.valuePath, 'value');
    const type = `JSONType(data, ${keys})`;
    const number = `ifNotFinite(multiIf(${type} IN ('Int64', 'UInt64', 'Double'), JSONExtractFloat(data, ${keys}), ${type} = 'String' AND match(JSONExtractString(data, ${keys}), {numeric:String}), toFloat64OrNull(JSONExtractString(data, ${keys})), NULL), NULL)`;
    const unique = `multiIf(${type} = 'String', JSONExtractString(data, ${keys}), ${type} IN ('Null', 'Object', 'Array'), NULL, JSONExtractRaw(data, ${keys}))`;
    const contributing = meter.aggregation === 'UNIQUE_COUNT' ? unique : number;
    if (meter.aggregation !== 'UNIQUE_COUNT') params.numeric = NUMERIC_TEXT;
    const aggregate: Record<Exclude<Aggregation, 'COUNT'>, string> = {
      SUM: `sum(${number})`,
      AVG: `avg(${number})`,
      MIN: `min(${number})`,
      MAX: `max(${number})`,
      UNIQUE_COUNT: `toFloat64(uniqExact(${unique}))`,
      // argMax skips the rows whose value is NULL: the latest event that has a value.
      LATEST: `argMax(${number}, time)`,
    };
    select.push(`${aggregate[meter.aggregation]} AS value`);
    having = `count(${contributing}) > 0`;
  } else {
    select.push('toFloat64(count()) AS value');
  }

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
    select.push(`${scalarText(keysOf(path, column))} AS ${column}`);
    group.push(column);
  });

  if (meter.eventFrom !== undefined) {
    params.eventFrom = clickHouseTime(meter.eventFrom);
    where.push("time >= {eventFrom:DateTime64(3, 'UTC')}");
  }
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
  Object.entries(q.filterGroupBy).forEach(([key, values], i) => {
    const path = meter.groupByPaths[key];
    if (!path) return;
    params[`filter_${i}`] = values;
    where.push(`${scalarText(keysOf(path, `filter_${i}_path`))} IN {filter_${i}:Array(String)}`);
  });

  const keys = group.filter((g) => !g.startsWith('window_'));
  const query = [
    `SELECT ${select.join(', ')}`,
    'FROM events',
    `WHERE ${where.join(' AND ')}`,
    ...(group.length > 0 ? [`GROUP BY ${group.join(', ')}`] : []),
    `HAVING ${having}`,
    ...(q.windowSize ? [`ORDER BY ${['window_start', ...keys].join(', ')}`] : keys.length > 0 ? [`ORDER BY ${keys.join(', ')}`] : []),
  ].join('\n');
  return { query, params, columns };
};
