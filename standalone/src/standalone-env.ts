import { serviceEnv } from '@tollgate/core/service';
import { EVENT_TIME_ENV } from '@tollgate/core/events';
import { EVENT_LOG_ENV, EVENT_PATH_ENV } from '@tollgate/core/event-path';
import { SYNC_ENV } from '@tollgate/sync-worker/env';

/** Every environment variable `npm start` reads: PORT is its gateway's, SIDECAR_PORT its sidecar's. */
export const STANDALONE_ENV = serviceEnv('npm start', [
  'PORT',
  'SIDECAR_PORT',
  'SAMPLE_UPSTREAM_PORT',
  'VALKEY_URL',
  ...EVENT_PATH_ENV,
  ...EVENT_LOG_ENV,
  'CLICKHOUSE_URL',
  'CLICKHOUSE_DATA_DIR',
  'ADMIN_TOKENS',
  'AUTHORIZE_TOKENS',
  'INGEST_MAX_BODY_BYTES',
  ...EVENT_TIME_ENV,
  'UPSTREAM_URL',
  'UPSTREAM_TIMEOUT_MS',
  'TOLLGATE_CONFIG',
  'JWT_SECRET',
  ...SYNC_ENV,
  'LOG_LEVEL',
]);
