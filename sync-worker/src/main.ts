import { createLogger } from '@tollgate/core';
import { ConfigError } from '@tollgate/core/config';
import {
  configurationOrExit,
  healthRoutes,
  probe,
  readServiceEnv,
  servedOrExit,
  serveApp,
  stopOnSignals,
  workFromInvocationDirectory,
} from '@tollgate/core/service';
import { awaitProducersAcked, ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { SyncWorker } from './sync-worker.ts';
import { SYNC_WORKER_ENV, syncScheduleFromEnv } from './sync-worker-env.ts';

/** Beyond the producers' linger, how long a restore gives live producers to write their marks again after a wipe. */
const SEND_MARGIN_MS = 1_000;

/** The sync worker on its own: reconciles Valkey balances with ClickHouse on an interval. */
workFromInvocationDirectory();
const env = configurationOrExit(SYNC_WORKER_ENV.service, () => {
  const read = readServiceEnv(SYNC_WORKER_ENV);
  // An in-memory store lives in one process: a separate worker can only reconcile a shared Valkey.
  if (!read.VALKEY_URL) throw new ConfigError(['VALKEY_URL is required: the sync worker reconciles a shared Valkey']);
  return { ...read, VALKEY_URL: read.VALKEY_URL };
});
const logger = createLogger('sync-worker', env.LOG_LEVEL);
const clickhouse = openClickHouse({ url: env.CLICKHOUSE_URL, dataDir: env.CLICKHOUSE_DATA_DIR });
await migrate(clickhouse);
const store = new ValkeyCreditStore({ url: env.VALKEY_URL });
// Not fatal: a run that finds Valkey unreachable fails and the loop tries again.
await store.connected().catch((err: unknown) => logger.warn('Valkey is not reachable yet', { error: String(err) }));
// With Kafka, a restore first waits for the events in Kafka as of the loss to be stored by the sink.
// The Kafka client is loaded only then.
const kafka = env.KAFKA_BROKERS.length > 0 ? new (await import('@tollgate/core/kafka')).KafkaClient({ brokers: env.KAFKA_BROKERS, clientId: 'tollgate-sync-worker' }) : undefined;
const awaitMeteringCaughtUp = kafka ? (await import('./kafka-caught-up.ts')).kafkaMeteringCaughtUp({
      kafka,
      topic: env.KAFKA_TOPIC,
      producerBoundMs: env.KAFKA_LINGER_MS + SEND_MARGIN_MS,
      producersAcked: (token, signal) => awaitProducersAcked(store, token, signal),
    }) : undefined;
const worker = new SyncWorker({ clickhouse, store, ...syncScheduleFromEnv(env), awaitMeteringCaughtUp, logger });
const readiness = async () => {
  const [storeUp, clickhouseUp] = await Promise.all([probe(() => store.ping()), probe(async () => (await clickhouse.ping()).success)]);
  const problems = [...(storeUp ? [] : ['Valkey does not answer']), ...(clickhouseUp ? [] : ['ClickHouse does not answer'])];
  return { checks: { store: storeUp, clickhouse: clickhouseUp }, problems };
};
// A port in use: one line that names it and PORT, and exit 1.
const health = await servedOrExit(serveApp(healthRoutes({ readiness }), { port: env.PORT, hostname: '0.0.0.0' }), {
  service: 'sync-worker',
  port: env.PORT,
  variable: 'PORT',
});
worker.start();
logger.info('started', {
  health: health.url,
  intervalMs: env.SYNC_INTERVAL_MS,
  settleLagMs: env.SYNC_SETTLE_LAG_MS,
  config: 'environment only (the sync worker reads no TOLLGATE_CONFIG)',
});

stopOnSignals(logger, [
  { name: 'sync worker', run: () => worker.stop() },
  { name: 'health server', run: () => health.close() },
  { name: 'credit store', run: () => store.close() },
  { name: 'Kafka', run: () => kafka?.close() },
  { name: 'ClickHouse', run: () => clickhouse.close() },
]);
