/**
 * @tollgate/core/event-path: how a service's events leave it. With brokers, the Kafka emitter
 * and its disk spool; without, the local event log drained into ClickHouse by its sink.
 * openEventPath picks one from the service's environment, and loads the Kafka client only
 * when it has brokers.
 */
export * from './events/open-emitter.ts';
export * from './kafka/kafka-emitter.ts';
export * from './spool/disk-spool.ts';
export * from './events/log-emitter.ts';
export * from './events/bus-sink.ts';
export * from './event-log/event-log.ts';
export * from './event-log/log-sink.ts';
export * from './event-log/directory-owner.ts';
