import type { Env } from '@tollgate/core/config';
import { serviceEnv } from '@tollgate/core/service';
import { EVENT_TIME_ENV } from '@tollgate/core/events';
import { EVENT_PATH_ENV } from '@tollgate/core/event-path';

/** Every environment variable the quota sidecar reads (its deployment manifests set exactly these). */
export const SIDECAR_ENV = serviceEnv(
  'quota-sidecar',
  [
    'PORT',
    'SIDECAR_WORKERS',
    'VALKEY_URL',
    ...EVENT_PATH_ENV,
    'CLICKHOUSE_URL',
    'CLICKHOUSE_DATA_DIR',
    'LISTEN_HOST',
    'ADMIN_TOKENS',
    'AUTHORIZE_TOKENS',
    'JWT_SECRET',
    'SYNC_SETTLE_LAG_MS',
    'INGEST_MAX_BODY_BYTES',
    ...EVENT_TIME_ENV,
    'TOLLGATE_CONFIG',
    'LOG_LEVEL',
  ],
  // Beside the gateway's 8080, as under `npm start`.
  { PORT: 8081 },
);
export type SidecarEnv = Env<(typeof SIDECAR_ENV.vars)[number]['name']>;
