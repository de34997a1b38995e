import type { ClickHouseClient } from '@clickhouse/client';
import { EventWriter } from '../clickhouse/event-writer.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics/metrics.ts';
import type { InProcessBus } from './in-process-bus.ts';
import { validateEvent, type StoredEvent } from './validate-event.ts';

/**
 * The sink of a single process (no Kafka): stores the bus's events through the same
 * idempotent writer. A failed write throws (the writer logs and counts it), so the bus offers
 * the events again; an event ClickHouse refuses on its own is logged by the writer and not retried.
 */
export const attachBusSink = (bus: InProcessBus, clickhouse: ClickHouseClient, logger: Logger, writer = new EventWriter({ clickhouse, logger, writer: 'single-process' })): (() => void) =>
  bus.subscribe(async (batch) => {
    const events: StoredEvent[] = [];
    for (const e of batch) {
      const result = validateEvent(JSON.parse(JSON.stringify(e)));
      if (result.ok) events.push(result.event);
      else logger.error('event refused by the sink', { id: e.id, reason: result.reason });
    }
    const { inserted, alreadyPresent, refused } = await writer.write(events);
    metrics.eventsProcessed.inc({ outcome: 'inserted' }, inserted);
    metrics.eventsProcessed.inc({ outcome: 'duplicate' }, alreadyPresent);
    metrics.eventsProcessed.inc({ outcome: 'dead_letter' }, refused.length);
  });
