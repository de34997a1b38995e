export * from './sync-worker.ts';
export * from './kafka-caught-up.ts';
export * from './sync-worker-env.ts';
