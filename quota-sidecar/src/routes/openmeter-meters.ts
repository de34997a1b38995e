import type { ClickHouseClient } from '@clickhouse/client';
import { Hono, type Context } from 'hono';
import { metrics, queryMeter, TollgateError, type Logger, type Meter } from '@tollgate/core';
import { meterView } from '../openmeter/meter-view.ts';
import { meterRowsCsv } from '../openmeter/query-csv.ts';
import { parseMeterQuery } from '../openmeter/query-params.ts';

export interface OpenMeterMetersDeps {
  meters: readonly Meter[];
  /** Without it, meters are listed but not queried. */
  clickhouse?: ClickHouseClient | undefined;
  /** When the meters were loaded: their createdAt and updatedAt. */
  definedAt: string;
  /** Clock in epoch milliseconds: where a query without `to` ends. */
  now: () => number;
  logger: Logger;
}

/** OpenMeter answers CSV when the first media type of Accept is text/csv, JSON otherwise. */
const wantsCsv = (c: Context) => (c.req.header('accept') ?? '').split(',')[0]?.split(';')[0]?.trim().toLowerCase() === 'text/csv';

/**
 * OpenMeter's meter API over the configured meters: `GET /api/v1/meters`, `GET /api/v1/meters/{meter}`
 * and `GET /api/v1/meters/{meter}/query` (JSON, or CSV with `Accept: text/csv`).
 */
export const openMeterMetersRoutes = ({ meters, clickhouse, definedAt, now, logger }: OpenMeterMetersDeps) => {
  const bySlug = new Map(meters.map((m) => [m.slug, m]));
  const find = (slug: string): Meter => {
    const meter = bySlug.get(slug);
    if (!meter) throw new TollgateError('NOT_FOUND', `There is no meter "${slug}".`);
    return meter;
  };

  const app = new Hono()
    .get('/api/v1/meters', (c) => c.json(meters.map((m) => meterView(m, definedAt))))
    .get('/api/v1/meters/:meterIdOrSlug', (c) => c.json(meterView(find(c.req.param('meterIdOrSlug')), definedAt)));
  if (!clickhouse) return app;

  return app.get('/api/v1/meters/:meterIdOrSlug/query', async (c) => {
    const meter = find(c.req.param('meterIdOrSlug'));
    // Timed per known meter only, so a client cannot grow the metric's label set.
    const end = metrics.queryLatency.startTimer({ meter: meter.slug });
    let outcome = 'error';
    try {
      let query;
      try {
        query = parseMeterQuery(meter, new URL(c.req.url).searchParams);
      } catch (err) {
        outcome = 'invalid';
        throw err;
      }
      let answer;
      try {
        answer = await queryMeter(clickhouse, meter, query, now());
      } catch (err) {
        logger.error('meter query failed', { meter: meter.slug, error: err instanceof Error ? err.message : String(err) });
        throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'The meter could not be queried right now; retry shortly.');
      }
      outcome = 'ok';
      if (wantsCsv(c)) {
        return c.body(meterRowsCsv(query.groupBy, answer.data), 200, {
          'content-type': 'text/csv',
          'content-disposition': `attachment; filename=${meter.slug}.csv`,
        });
      }
      return c.json(answer);
    } finally {
      end({ outcome });
    }
  });
};
