import { serve } from '@hono/node-server';
import { ConfigError, createLogger, GrantRepository, migrate, openClickHouse, openCreditStore, ValkeyCreditStore } from '@tollgate/core';
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
const { env, config } = settings;
const logger = createLogger(SERVICE, env.LOG_LEVEL);

if (env.ADMIN_TOKENS.length === 0) {
  logger.warn('ADMIN_TOKENS is empty: the admin API (top-ups, balances, ledger) refuses every request with 401. Set ADMIN_TOKENS to one or more comma-separated bearer tokens.');
}

const clickhouse = openClickHouse({ url: env.CLICKHOUSE_URL, dataDir: env.CLICKHOUSE_DATA_DIR });
try {
  await migrate(clickhouse);
} catch (err) {
  logger.error('ClickHouse migrations failed', { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
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
  ready: async () => (await clickhouse.ping()).success,
  logger,
});

const server = serve({ fetch: app.fetch, port: env.PORT }, (info) => {
  logger.info('listening', { port: info.port, store: store.kind, clickhouse: env.CLICKHOUSE_URL ? 'server' : 'embedded' });
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
    await Promise.allSettled([store.close(), clickhouse.close()]);
    logger.info('stopped');
    process.exit(0);
  });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
