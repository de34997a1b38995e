import type { Env, EnvName } from '@tollgate/core/config';
import { serviceEnv } from '@tollgate/core/service';

/** The variables of the sync worker's schedule: read by its own process and by `npm start`. */
export const SYNC_ENV = [
  'SYNC_INTERVAL_MS',
  'SYNC_SETTLE_LAG_MS',
  'SYNC_BATCH_SIZE',
  'SYNC_FULL_SWEEP_MS',
  'SYNC_RESTORE_POLL_MS',
  'SYNC_RESTORE_CATCHUP_TIMEOUT_MS',
] as const satisfies readonly EnvName[];

/** The options those variables set. */
export const syncScheduleFromEnv = (env: Env<(typeof SYNC_ENV)[number]>) => ({
  intervalMs: env.SYNC_INTERVAL_MS,
  settleLagMs: env.SYNC_SETTLE_LAG_MS,
  batchSize: env.SYNC_BATCH_SIZE,
  fullSweepMs: env.SYNC_FULL_SWEEP_MS,
  restorePollMs: env.SYNC_RESTORE_POLL_MS,
  restoreCatchUpTimeoutMs: env.SYNC_RESTORE_CATCHUP_TIMEOUT_MS,
});

/** Every environment variable the sync worker reads (its deployment manifests set exactly these). */
export const SYNC_WORKER_ENV = serviceEnv(
  'sync-worker',
  ['PORT', 'VALKEY_URL', 'CLICKHOUSE_URL', 'CLICKHOUSE_DATA_DIR', 'KAFKA_BROKERS', 'KAFKA_TOPIC', 'KAFKA_LINGER_MS', ...SYNC_ENV, 'LOG_LEVEL'],
  // Its own port (health, readiness, metrics), so it runs beside the other services.
  { PORT: 8083 },
);
