import { parseEvent, type EventTimeWindow, type StoredEvent } from '@tollgate/core/events';
import type { IncomingRecord } from '@tollgate/core/kafka';
import type { WriteResult } from '@tollgate/core/clickhouse';

export interface Refused {
  record: IncomingRecord;
  reason: string;
}

export interface ParsedRecords {
  events: StoredEvent[];
  /** `sources[i]` is the record of `events[i]`: an event the store refuses is dead-lettered as it came. */
  sources: IncomingRecord[];
  refused: Refused[];
}

/**
 * Splits fetched records into events to store and records for the dead-letter topic (one
 * validation call each). An event's time is checked against the acceptance window around the
 * record's Kafka timestamp (when it arrived), not the sink's clock: a sink catching up on a
 * backlog, or a replay, judges each event as ingest did.
 */
export const parseRecords = (records: readonly IncomingRecord[], window?: EventTimeWindow): ParsedRecords => {
  const events: StoredEvent[] = [];
  const sources: IncomingRecord[] = [];
  const refused: Refused[] = [];
  for (const record of records) {
    const result = parseEvent(record.value, { arrivalMs: Number(record.timestamp), window });
    if (result.ok) {
      events.push(result.event);
      sources.push(record);
    } else refused.push({ record, reason: result.reason });
  }
  return { events, sources, refused };
};

/** The records of the events ClickHouse refused on their own, with its reason. */
export const refusedByStore = ({ events, sources }: ParsedRecords, written: WriteResult): Refused[] => {
  if (written.refused.length === 0) return [];
  const reasons = new Map(written.refused.map((r) => [r.event, r.reason]));
  return events.flatMap((event, i) => {
    const reason = reasons.get(event);
    const record = sources[i];
    return reason !== undefined && record ? [{ record, reason }] : [];
  });
};
