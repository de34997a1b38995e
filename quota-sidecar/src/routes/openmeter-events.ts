import { Hono } from 'hono';
import { metrics, TollgateError, type EventEmitter, type Logger, type TollgateConfig } from '@tollgate/core';
import { acceptsEvents, eventsNotRecordable } from '../events/accepting.ts';
import { invalidEventsError, readIngestBody, validateIngest } from '../openmeter/ingest-request.ts';

export interface OpenMeterEventsDeps {
  emitter: EventEmitter;
  config: TollgateConfig;
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
export const openMeterEventsRoutes = ({ emitter, config, now, logger }: OpenMeterEventsDeps) =>
  new Hono().post('/api/v1/events', async (c) => {
    const values = await readIngestBody(c.req.raw, config.limits.maxBodyBytes);
    const result = validateIngest(values, now());
    if (!result.ok) throw invalidEventsError(result.invalid, values.length);
    if (!acceptsEvents(emitter)) throw eventsNotRecordable();

    let emitted = 0;
    try {
      for (const event of result.events) {
        emitter.emit(event);
        emitted += 1;
        metrics.eventsIngested.inc({ type: event.type });
      }
    } catch (err) {
      logger.error('ingested events not emitted', { emitted, total: result.events.length, error: String(err) });
      throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'The events could not be accepted; retry the request (events already accepted are counted once).');
    }
    return c.body(null, 204);
  });
