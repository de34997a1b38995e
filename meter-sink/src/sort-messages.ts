import { parseEvent, type StoredEvent } from '@tollgate/core';

export interface RawMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export interface Refused {
  message: RawMessage;
  reason: string;
}

/** Splits fetched messages into events to store and messages for the dead-letter topic. */
export const sortMessages = (messages: RawMessage[]): { events: StoredEvent[]; refused: Refused[] } => {
  const events: StoredEvent[] = [];
  const refused: Refused[] = [];
  for (const message of messages) {
    const result = parseEvent(message.value);
    if (result.ok) events.push(result.event);
    else refused.push({ message, reason: result.reason });
  }
  return { events, refused };
};
