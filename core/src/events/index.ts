/**
 * @tollgate/core/events: the api.call event, the EventEmitter a service hands its events to,
 * the in-process bus, and the checks of an event's fields and time. Loads no client; the ways
 * events leave a process (Kafka, the local event log) are @tollgate/core/event-path.
 */
export * from './api-call.ts';
export * from './emitter.ts';
export * from './delivery-progress.ts';
export * from './in-process-bus.ts';
export * from './event-time.ts';
export * from './validate-event.ts';
