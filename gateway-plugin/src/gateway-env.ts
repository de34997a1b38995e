import { serviceEnv } from '@tollgate/core/service';
import { EVENT_PATH_ENV } from '@tollgate/core/event-path';

/** Every environment variable the gateway reads (its deployment manifests set exactly these). */
export const GATEWAY_ENV = serviceEnv('gateway', [
  'PORT',
  'METRICS_PORT',
  'VALKEY_URL',
  'UPSTREAM_URL',
  'UPSTREAM_TIMEOUT_MS',
  'TOLLGATE_CONFIG',
  'JWT_SECRET',
  ...EVENT_PATH_ENV,
  'CLICKHOUSE_URL',
  'CLICKHOUSE_DATA_DIR',
  'LOG_LEVEL',
]);
