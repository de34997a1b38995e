export * from './sync-worker.ts';
export * from './health-server.ts';
