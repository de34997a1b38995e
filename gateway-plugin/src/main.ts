// Start with `npm start -w gateway-plugin`, or give node the same flags: at most 2 × 16 MB
// semi-spaces (V8 otherwise grows the young generation to 2 × 64 MB under load) and an old
// generation grown by ×1.5 rather than up to ×4 between major GCs hold the gateway at 180-200 MB
// resident under load instead of 300-340 MB, for ~3 µs more garbage collection per request:
//   node --max-semi-space-size=16 --heap-growing-percent=50 gateway-plugin/src/main.ts
import { createLogger } from '@tollgate/core';
import {
  configurationOrExit,
  workFromInvocationDirectory,
  configurationSummary,
  servedOrExit,
  serveApp,
  stopOnSignals,
  readServiceConfiguration,
} from '@tollgate/core/service';
import { openCreditStore } from '@tollgate/core/credits';
import { eventPathFromEnv, openEventPath } from '@tollgate/core/event-path';
import { GATEWAY_ENV } from './gateway-env.ts';
import { createGatewayApp } from './gateway-app.ts';
import { createMetricsApp } from './metrics-app.ts';

/** Reads the environment and the YAML configuration, collecting every problem before failing. */
const readConfiguration = () => {
  const { env, config } = readServiceConfiguration(GATEWAY_ENV, (env, config) => [
    ...(env && env.METRICS_PORT === env.PORT ? [`METRICS_PORT must differ from PORT (${env.PORT}): /metrics is not served on the port TPPs call`] : []),
    ...(env && !env.UPSTREAM_URL ? ['UPSTREAM_URL is required: the URL of the API the gateway protects'] : []),
    ...(config?.subject.jwt && !config.subject.jwt.jwksUrl && !env?.JWT_SECRET ? ['subject.jwt needs subject.jwt.jwksUrl in TOLLGATE_CONFIG or JWT_SECRET in the environment'] : []),
  ]);
  return { env: { ...env, UPSTREAM_URL: env.UPSTREAM_URL ?? '', TOLLGATE_CONFIG: env.TOLLGATE_CONFIG ?? '' }, config };
};

const main = async () => {
  workFromInvocationDirectory();
  const { env, config } = configurationOrExit('gateway', readConfiguration);
  const logger = createLogger('gateway', env.LOG_LEVEL);
  // Each client is loaded only where the environment uses it: Valkey with VALKEY_URL, Kafka with
  // KAFKA_BROKERS, ClickHouse without Kafka (test/service-import-graph.test.ts).
  // Alone, the gateway holds no ledger (no top-ups, no grants): a memory store starts empty and
  // there is nothing to restore it from. With Valkey, the sync worker restores a wiped store.
  const store = await openCreditStore(env.VALKEY_URL, { memoryRestored: true });
  // With Kafka, events are produced (and spooled while it is away); without, stored here.
  const openClickHouse = async () => (await import('@tollgate/core/clickhouse')).openClickHouse({ url: env.CLICKHOUSE_URL, dataDir: env.CLICKHOUSE_DATA_DIR });
  const emitter = await openEventPath(eventPathFromEnv(env, 'tollgate-gateway', openClickHouse, logger));
  // With Valkey and Kafka, a restore of a wiped store waits for this process's events (restore-acks.ts).
  const restoreAcks = store.kind === 'valkey' ? (await import('@tollgate/core/credits/valkey')).restoreAcksFor(store, emitter, logger) : undefined;
  const app = createGatewayApp({
    store,
    emitter,
    config,
    upstreamUrl: env.UPSTREAM_URL,
    upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
    ...(env.JWT_SECRET ? { jwtSecret: env.JWT_SECRET } : {}),
    logger,
  });
  // A port in use is one line that names it and its variable, and exit 1.
  const listen = (what: Parameters<typeof serveApp>[0], port: number, variable: string) =>
    servedOrExit(serveApp(what, { port, hostname: '0.0.0.0' }), { service: 'gateway', port, variable });
  const server = await listen(app, env.PORT, 'PORT');
  const metricsServer = await listen(createMetricsApp(), env.METRICS_PORT, 'METRICS_PORT');
  logger.info('gateway listening', {
    port: server.port,
    metricsPort: metricsServer.port,
    upstream: env.UPSTREAM_URL,
    store: store.kind,
    config: configurationSummary(env.TOLLGATE_CONFIG, config),
  });

  // In-flight requests finish first, so their events are emitted before the bus is flushed.
  stopOnSignals(logger, [
    { name: 'gateway server', run: () => server.close() },
    { name: 'metrics server', run: () => metricsServer.close() },
    { name: 'upstream connections', run: () => app.close() },
    { name: 'events', run: () => emitter.close() },
    { name: 'producer mark', run: async () => restoreAcks?.stop() },
    { name: 'credit store', run: () => store.close() },
  ]);
};

await main();
