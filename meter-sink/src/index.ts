export { KafkaMeterSink, type KafkaSinkOptions } from './kafka-sink.ts';
export { createSinkHealthApp } from './health-app.ts';
export { SinkReadiness } from './readiness.ts';
export { createWriteStep, isOwnershipLost, PartitionLostError, type WriteContext, type WriteStep } from './write-step.ts';
