import type { ClickHouseClient } from '@clickhouse/client';
import { Hono, type Context } from 'hono';
import { TollgateError, type Logger } from '@tollgate/core';
import { readJsonBody } from '@tollgate/core/http';
import { metrics } from '@tollgate/core/metrics';
import { queryMeter, type MeterAnswer } from '@tollgate/core/meters';
import type { MeterRegistry } from '../openmeter/meter-registry.ts';
import { meterView } from '../openmeter/meter-view.ts';
import { readV1QueryBody, readV3QueryBody, v3Answer } from '../openmeter/query-body.ts';
import { meterRowsCsv } from '../openmeter/query-csv.ts';
import { checkMeterQuery, readQueryParams, type RawMeterQuery } from '../openmeter/query-params.ts';

export interface OpenMeterMetersDeps {
  meters: MeterRegistry;
  /** Without it, meters are listed but not queried. */
  clickhouse?: ClickHouseClient | undefined;
  /** Clock in epoch milliseconds: where a query without `to` ends. */
  now: () => number;
  /** Largest JSON query body. */
  maxBodyBytes: number;
  logger: Logger;
}

/** OpenMeter answers CSV when the first media type of Accept is text/csv, JSON otherwise. */
const wantsCsv = (c: Context) => (c.req.header('accept') ?? '').split(',')[0]?.split(';')[0]?.trim().toLowerCase() === 'text/csv';

type Form = 'v1' | 'v3';

/**
 * OpenMeter's meter API over the configured and created meters: `GET /api/v1/meters`, `GET /api/v1/meters/{meter}`,
 * and a query in each of OpenMeter's forms over one query builder — `GET /api/v1/meters/{meter}/query`
 * (parameters), `POST /api/v1/meters/{meter}/query` (the same as JSON) and
 * `POST /api/v3/openmeter/meters/{meterId}/query` (v3 names) — each as JSON, or CSV with `Accept: text/csv`.
 */
export const openMeterMetersRoutes = ({ meters, clickhouse, now, maxBodyBytes, logger }: OpenMeterMetersDeps) => {
  const app = new Hono()
    .get('/api/v1/meters', async (c) => c.json((await meters.list()).map(meterView)))
    .get('/api/v1/meters/:meterIdOrSlug', async (c) => c.json(meterView(await meters.find(c.req.param('meterIdOrSlug')))));
  if (!clickhouse) return app;

  const answer = async (c: Context, idOrSlug: string, read: () => Promise<RawMeterQuery>, form: Form) => {
    const { meter } = await meters.find(idOrSlug);
    // Timed per known meter only, so a client cannot grow the metric's label set.
    const end = metrics.queryLatency.startTimer({ meter: meter.slug });
    let outcome = 'error';
    try {
      let query;
      try {
        query = checkMeterQuery(meter, await read());
      } catch (err) {
        outcome = 'invalid';
        throw err;
      }
      let result: MeterAnswer;
      try {
        result = await queryMeter(clickhouse, meter, query, now());
      } catch (err) {
        logger.error('meter query failed', { meter: meter.slug, error: err instanceof Error ? err.message : String(err) });
        throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'The meter could not be queried right now; retry shortly.');
      }
      outcome = 'ok';
      if (wantsCsv(c)) {
        return c.body(meterRowsCsv(query.groupBy, result.data, form === 'v3' ? ['from', 'to'] : undefined), 200, {
          'content-type': 'text/csv',
          'content-disposition': `attachment; filename=${meter.slug}.csv`,
        });
      }
      return c.json(form === 'v3' ? v3Answer(result) : result);
    } finally {
      end({ outcome });
    }
  };
  const body = (c: Context) => readJsonBody(c.req.raw, maxBodyBytes);

  return app
    .get('/api/v1/meters/:meterIdOrSlug/query', (c) => answer(c, c.req.param('meterIdOrSlug'), async () => readQueryParams(new URL(c.req.url).searchParams), 'v1'))
    .post('/api/v1/meters/:meterIdOrSlug/query', (c) => answer(c, c.req.param('meterIdOrSlug'), async () => readV1QueryBody(await body(c)), 'v1'))
    .post('/api/v3/openmeter/meters/:meterId/query', (c) => answer(c, c.req.param('meterId'), async () => readV3QueryBody(await body(c)), 'v3'));
};
