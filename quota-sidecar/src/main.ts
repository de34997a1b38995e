import { serve } from '@hono/node-server';
import {
  attachBusSink,
  ConfigError,
  createLogger,
  DiskSpool,
  ensureTopics,
  GrantRepository,
  InProcessBus,
  KafkaEmitter,
  migrate,
  openClickHouse,
  openCreditStore,
  openKafka,
  ValkeyCreditStore,
  type EventEmitter,
} from '@tollgate/core';
import { readSidecarConfig } from './sidecar-config.ts';
import { createSidecarApp } from './sidecar-app.ts';

const SERVICE = 'quota-sidecar';
/** In-flight requests get this long to finish after SIGTERM before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

let settings;
try {
  settings = readSidecarConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  createLogger(SERVICE).error('invalid configuration', { problems: err.problems });
  process.exit(1);
}
const { env, config, meters } = settings;
const logger = createLogger(SERVICE, env.LOG_LEVEL);

if (env.ADMIN_TOKENS.length === 0) {
  logger.warn('ADMIN_TOKENS is empty: the admin API (top-ups, balances, ledger) and the OpenMeter API (/api/v1: ingest, meters) refuse every request with 401. Set ADMIN_TOKENS to one or more comma-separated bearer tokens.');
}

const clickhouse = openClickHouse({ url: env.CLICKHOUSE_URL, dataDir: env.CLICKHOUSE_DATA_DIR });
try {
  await migrate(clickhouse);
} catch (err) {
  logger.error('ClickHouse migrations failed', { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

// Decisions and ingested events take the gateway's producer path: Kafka when brokers are set,
// otherwise the in-process bus with its sink, so they still reach ClickHouse.
let emitter: EventEmitter;
let detachSink = () => {};
const topic = env.KAFKA_TOPIC ?? 'api-calls';
if (env.KAFKA_BROKERS.length > 0) {
  const kafka = openKafka(env.KAFKA_BROKERS, SERVICE);
  // Not fatal: events spool to disk until Kafka and the topic are there (the meter-sink also creates it).
  await ensureTopics(kafka, topic, env.KAFKA_TOPIC_PARTITIONS).catch((err: unknown) =>
    logger.warn('the events topic could not be checked; events spool to disk until Kafka takes them', { topic, error: String(err) }),
  );
  const spool = new DiskSpool({ dir: env.SPOOL_DIR ?? '.data/spool', maxBytes: env.SPOOL_MAX_BYTES, fsync: env.SPOOL_FSYNC });
  const kafkaEmitter = new KafkaEmitter({ kafka, topic, spool, logger, lingerMs: env.KAFKA_LINGER_MS, spoolFullPolicy: env.SPOOL_FULL_POLICY });
  await kafkaEmitter.start();
  emitter = kafkaEmitter;
} else {
  const bus = new InProcessBus();
  detachSink = attachBusSink(bus, clickhouse, logger);
  emitter = bus;
}

const store = openCreditStore(env.VALKEY_URL);
if (store instanceof ValkeyCreditStore) {
  // Not fatal: /readyz stays 503 until Valkey answers, and the store-error policy decides meanwhile.
  await store.connected().catch((err: unknown) => logger.warn('Valkey is not reachable yet', { error: String(err) }));
}

const app = createSidecarApp({
  store,
  grants: new GrantRepository(clickhouse),
  config,
  adminTokens: env.ADMIN_TOKENS,
  emitter,
  clickhouse,
  meters,
  ready: async () => (await clickhouse.ping()).success,
  logger,
});

const server = serve({ fetch: app.fetch, port: env.PORT }, (info) => {
  logger.info('listening', {
    port: info.port,
    store: store.kind,
    events: env.KAFKA_BROKERS.length > 0 ? `kafka:${topic}` : 'in-process',
    clickhouse: env.CLICKHOUSE_URL ? 'server' : 'embedded',
  });
});

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  const force = setTimeout(() => {
    logger.warn('requests still open after the grace period; closing their connections');
    if ('closeAllConnections' in server) server.closeAllConnections();
  }, SHUTDOWN_GRACE_MS);
  force.unref();
  server.close(async () => {
    clearTimeout(force);
    // Answered requests' events are flushed (to Kafka or the spool, or stored by the bus's sink) before ClickHouse closes.
    await emitter.close().catch((err: unknown) => logger.error('events not flushed', { error: String(err) }));
    detachSink();
    await Promise.allSettled([store.close(), clickhouse.close()]);
    logger.info('stopped');
    process.exit(0);
  });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
