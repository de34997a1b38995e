import { Hono } from 'hono';
import { TollgateError, type Logger } from '@tollgate/core';
import { DEFAULT_INGEST_MAX_BODY_BYTES, type TollgateConfig } from '@tollgate/core/config';
import { countIngested } from '@tollgate/core/metrics';
import { DEFAULT_EVENT_TIME_WINDOW, type EventEmitter, type EventTimeWindow } from '@tollgate/core/events';
import { acceptsEvents, eventsNotRecordable } from '../events/accepting.ts';
import { invalidEventsError, readIngestBody, validateIngest } from '../openmeter/ingest-request.ts';
import { createIngestPricer } from '../openmeter/price-ingested.ts';

/** The ingest edge's own limits (INGEST_MAX_BODY_BYTES, EVENT_MAX_AGE_MS, EVENT_MAX_AHEAD_MS). */
export interface IngestLimits {
  maxBodyBytes: number;
  window: EventTimeWindow;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = { maxBodyBytes: DEFAULT_INGEST_MAX_BODY_BYTES, window: DEFAULT_EVENT_TIME_WINDOW };

export interface OpenMeterEventsDeps {
  emitter: EventEmitter;
  config: TollgateConfig;
  limits: IngestLimits;
  now: () => number;
  logger: Logger;
}

/**
 * `POST /api/v1/events`, OpenMeter's ingest: one CloudEvent or a batch. Every event is checked
 * first; one invalid event refuses the whole request (400) and none is emitted. Valid events go
 * to the same producer path as the gateway's (Kafka, or the in-process bus), and 204 means they
 * were handed to it, not yet stored. Retrying a request is safe: (source, id) identifies an
 * event, and an event delivered twice is counted once.
 */
export const openMeterEventsRoutes = ({ emitter: path, config, limits, now, logger }: OpenMeterEventsDeps) => {
  const price = createIngestPricer(config);
  const emitter = countIngested(path, 'ingest-api');
  return new Hono().post('/api/v1/events', async (c) => {
    const values = await readIngestBody(c.req.raw, limits.maxBodyBytes);
    const result = validateIngest(values, { nowMs: now(), window: limits.window, maxCost: config.credits.maxCost, price });
    if (!result.ok) throw invalidEventsError(result.invalid, values.length);
    if (!acceptsEvents(emitter)) throw eventsNotRecordable();

    let emitted = 0;
    try {
      for (const event of result.events) {
        emitter.emit(event);
        emitted += 1;
      }
    } catch (err) {
      logger.error('ingested events not emitted', { emitted, total: result.events.length, error: String(err) });
      throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'The events could not be accepted; retry the request (events already accepted are counted once).');
    }
    return c.body(null, 204);
  });
};
