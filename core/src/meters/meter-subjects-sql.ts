import { clickHouseTime } from '../clickhouse/time.ts';
import type { Meter } from './meter.ts';
import type { SqlQuery } from '../clickhouse/sql-query.ts';

/**
 * The subjects with usage of a meter: those with a stored event of its type (whether or not the
 * event has the meter's value, as OpenMeter), in its `eventFrom` and in the range asked, sorted.
 * `from` and `to` are both inclusive, as OpenMeter's API documents them.
 */
export const meterSubjectsSql = (meter: Meter, range: { from?: number | undefined; to?: number | undefined }): SqlQuery => {
  const params: Record<string, unknown> = { eventType: meter.eventType };
  const where = ['type = {eventType:String}'];
  if (meter.eventFrom !== undefined) {
    params.eventFrom = clickHouseTime(meter.eventFrom);
    where.push("time >= {eventFrom:DateTime64(3, 'UTC')}");
  }
  if (range.from !== undefined) {
    params.from = clickHouseTime(range.from);
    where.push("time >= {from:DateTime64(3, 'UTC')}");
  }
  if (range.to !== undefined) {
    params.to = clickHouseTime(range.to);
    where.push("time <= {to:DateTime64(3, 'UTC')}");
  }
  return { query: ['SELECT DISTINCT subject', 'FROM events', `WHERE ${where.join(' AND ')}`, 'ORDER BY subject'].join('\n'), params };
};
