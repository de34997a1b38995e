import { parseEvent, type IncomingRecord, type StoredEvent } from '@tollgate/core';

export interface Refused {
  record: IncomingRecord;
  reason: string;
}

/** Splits fetched records into events to store and records for the dead-letter topic (one validation call each). */
export const sortMessages = (records: readonly IncomingRecord[]): { events: StoredEvent[]; refused: Refused[] } => {
  const events: StoredEvent[] = [];
  const refused: Refused[] = [];
  for (const record of records) {
    const result = parseEvent(record.value);
    if (result.ok) events.push(result.event);
    else refused.push({ record, reason: result.reason });
  }
  return { events, refused };
};
