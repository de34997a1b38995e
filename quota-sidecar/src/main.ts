import { serve } from '@hono/node-server';
import {
  ConfigError,
  createLogger,
  GrantRepository,
  migrate,
  openClickHouse,
  openCreditStore,
  eventPathFromEnv,
  openEventPath,
  openKafka,
  reconcileReplayed,
  ReplayRegistry,
  ValkeyCreditStore,
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

// Decisions and ingested events take the gateway's producer path: Kafka when brokers are set
// (spooled to disk while Kafka is away), otherwise the in-process bus, stored in ClickHouse here.
const topic = env.KAFKA_TOPIC ?? 'api-calls';
const emitter = await openEventPath(eventPathFromEnv(env, SERVICE, () => clickhouse, logger));

const store = openCreditStore(env.VALKEY_URL);
if (store instanceof ValkeyCreditStore) {
  // Not fatal: /readyz stays 503 until Valkey answers, and the store-error policy decides meanwhile.
  await store.connected().catch((err: unknown) => logger.warn('Valkey is not reachable yet', { error: String(err) }));
}

// Replay re-reads the events topic: only with Kafka. It reconciles what it restored at the sync worker's watermark.
const replays =
  env.KAFKA_BROKERS.length > 0
    ? new ReplayRegistry({
        kafka: openKafka(env.KAFKA_BROKERS, `${SERVICE}-replay`),
        clickhouse,
        topic,
        reconcile: reconcileReplayed({ clickhouse, store, settleLagMs: env.SYNC_SETTLE_LAG_MS, logger }),
        logger,
      })
    : undefined;

const app = createSidecarApp({
  store,
  grants: new GrantRepository(clickhouse),
  config,
  adminTokens: env.ADMIN_TOKENS,
  emitter,
  clickhouse,
  replays,
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
    await Promise.allSettled([store.close(), clickhouse.close()]);
    logger.info('stopped');
    process.exit(0);
  });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
