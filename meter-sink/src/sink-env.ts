import { serviceEnv } from '@tollgate/core/service';
import { EVENT_TIME_ENV } from '@tollgate/core/events';

/** Every environment variable the meter-sink reads (its deployment manifests set exactly these). */
export const SINK_ENV = serviceEnv(
  'meter-sink',
  [
    'PORT',
    'KAFKA_BROKERS',
    'KAFKA_TOPIC',
    'KAFKA_TOPIC_PARTITIONS',
    'CLICKHOUSE_URL',
    'CLICKHOUSE_DATA_DIR',
    'SINK_BATCH_SIZE',
    'SINK_BATCH_WAIT_MS',
    'SINK_SESSION_TIMEOUT_MS',
    'DEDUPE_HORIZON_DAYS',
    ...EVENT_TIME_ENV,
    'LOG_LEVEL',
  ],
  // Its own port (health, readiness, metrics), so it runs beside the gateway and the sidecar.
  { PORT: 8082 },
);
