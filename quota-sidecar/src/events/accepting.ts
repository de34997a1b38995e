import { TollgateError } from '@tollgate/core';
import type { EventEmitter } from '@tollgate/core/events';

/**
 * False while the emitter cannot record events and its policy says to refuse work meanwhile
 * (the Kafka emitter with a full disk spool under SPOOL_FULL_POLICY=deny).
 */
export const acceptsEvents = (emitter: EventEmitter): boolean => emitter.accepting !== false;

export const eventsNotRecordable = () =>
  new TollgateError('DEPENDENCY_UNAVAILABLE', 'Usage cannot be recorded right now (the event spool is full); retry shortly.');
