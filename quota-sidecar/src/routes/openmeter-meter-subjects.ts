import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import { TollgateError, type Logger } from '@tollgate/core';
import { queryRows } from '@tollgate/core/clickhouse';
import { meterSubjectsSql } from '@tollgate/core/meters';
import type { MeterRegistry } from '../openmeter/meter-registry.ts';
import { timeParam } from '../openmeter/query-params.ts';

const PARAMETERS = new Set(['from', 'to']);

/** The `from` and `to` of the subjects list: RFC 3339, each at most once, from not after to. */
const readRange = (params: URLSearchParams): { from?: number; to?: number } => {
  const problems: string[] = [];
  for (const name of new Set(params.keys())) if (!PARAMETERS.has(name)) problems.push(`${name} is not a parameter of this list.`);
  const time = (name: 'from' | 'to'): number | undefined => {
    if (params.getAll(name).length > 1) problems.push(`${name} may be given once.`);
    return timeParam(name, params.get(name) ?? undefined, problems);
  };
  const from = time('from');
  const to = time('to');
  if (from !== undefined && to !== undefined && to < from) problems.push('to must not be before from.');
  if (problems.length > 0) throw new TollgateError('BAD_REQUEST', problems.join(' '), { invalidParameters: problems });
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
};

/** `GET /api/v1/meters/{meterIdOrSlug}/subjects`: the subjects with events of the meter's type, sorted (OpenMeter's listMeterSubjects). */
export const openMeterMeterSubjectsRoutes = ({ meters, clickhouse, logger }: { meters: MeterRegistry; clickhouse: ClickHouseClient; logger: Logger }) =>
  new Hono().get('/api/v1/meters/:meterIdOrSlug/subjects', async (c) => {
    const { meter } = await meters.find(c.req.param('meterIdOrSlug'));
    const built = meterSubjectsSql(meter, readRange(new URL(c.req.url).searchParams));
    try {
      return c.json((await queryRows<{ subject: string }>(clickhouse, built)).map((r) => r.subject));
    } catch (err) {
      logger.error('meter subjects query failed', { meter: meter.slug, error: err instanceof Error ? err.message : String(err) });
      throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'The subjects could not be read right now; retry shortly.');
    }
  });
