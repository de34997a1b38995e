import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import { TollgateError, type Logger } from '@tollgate/core';
import { queryRows } from '@tollgate/core/clickhouse';
import { eventValidationError, isoTime, listEventsSql, type ListedEventRow } from '@tollgate/core/meters';
import { readEventListParams } from '../openmeter/event-list-params.ts';
import type { MeterRegistry } from '../openmeter/meter-registry.ts';

/**
 * `GET /api/v1/events`, OpenMeter's listing of ingested events: the stored events matching the
 * filters, newest first, each as its CloudEvent (data as stored, so an api.call priced at ingest
 * shows its cost and decision) with the validation error of every meter of its type — configured
 * or created — that leaves it out. `ingestedAt` and `storedAt` are both when ClickHouse stored it.
 */
export const openMeterEventsListRoutes = ({ meters, clickhouse, now, logger }: { meters: MeterRegistry; clickhouse: ClickHouseClient; now: () => number; logger: Logger }) =>
  new Hono().get('/api/v1/events', async (c) => {
    const built = listEventsSql(readEventListParams(new URL(c.req.url).searchParams, now()));
    const [all, rows] = await Promise.all([
      meters.list(),
      queryRows<ListedEventRow>(clickhouse, built).catch((err: unknown) => {
          logger.error('events list failed', { error: err instanceof Error ? err.message : String(err) });
          throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'The events could not be read right now; retry shortly.');
        }),
    ]);
    const defined = all.map((e) => e.meter);
    return c.json(
      rows.map((row) => {
        const data = JSON.parse(row.data) as unknown;
        const error = eventValidationError(defined, row.type, data);
        const stored = isoTime(Number(row.ingested_ms));
        return {
          event: { specversion: '1.0', id: row.id, source: row.source, type: row.type, subject: row.subject, time: isoTime(Number(row.time_ms)), datacontenttype: 'application/json', data },
          ...(error === undefined ? {} : { validationError: error }),
          ingestedAt: stored,
          storedAt: stored,
        };
      }),
    );
  });
