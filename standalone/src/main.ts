import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createLogger } from '@tollgate/core';
import { loadTollgateConfig } from '@tollgate/core/config';
import { configurationOrExit, configurationSummary, readServiceEnv, stopOnSignals, serveApp } from '@tollgate/core/service';
import { openCreditStore } from '@tollgate/core/credits';
import { eventTimeWindowFromEnv } from '@tollgate/core/events';
import { DirectoryInUseError, eventPathFromEnv, openEventPath } from '@tollgate/core/event-path';
import { KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { GrantRepository } from '@tollgate/core/ledger';
import { createGatewayApp } from '@tollgate/gateway-plugin';
import { startSampleUpstream } from '@tollgate/sample-upstream';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { createSidecarApp } from '@tollgate/quota-sidecar';
import { SyncWorker, syncScheduleFromEnv } from '@tollgate/sync-worker';
import { clickHouseDirOwner } from './clickhouse-dir-owner.ts';
import { STANDALONE_ENV } from './standalone-env.ts';

/**
 * `npm start`: the whole system in one process. Embedded defaults — memory credit store,
 * local event log, embedded ClickHouse, built-in sample upstream — unless VALKEY_URL,
 * KAFKA_BROKERS, CLICKHOUSE_URL or UPSTREAM_URL point at real ones. This is the one place
 * that puts the services together; in production each runs on its own.
 */
const DEFAULT_CONFIG_FILE = new URL('../../deploy/config/tollgate.yaml', import.meta.url).pathname;

const configFile = (env: { TOLLGATE_CONFIG: string | undefined }) => env.TOLLGATE_CONFIG ?? DEFAULT_CONFIG_FILE;
const booted = configurationOrExit(STANDALONE_ENV.service, () => {
  const env = readServiceEnv(STANDALONE_ENV);
  return { env, config: loadTollgateConfig(configFile(env)) };
});
const { env, config } = booted;
const logger = createLogger('tollgate', env.LOG_LEVEL);
const adminTokens = env.ADMIN_TOKENS.length > 0 ? env.ADMIN_TOKENS : [`dev-${randomBytes(12).toString('hex')}`];
// The authorize API (for a proxy in front, such as nginx) needs its own credential too.
const authorizeTokens = env.AUTHORIZE_TOKENS.length > 0 ? env.AUTHORIZE_TOKENS : [`authz-${randomBytes(12).toString('hex')}`];
const topic = env.KAFKA_TOPIC;

/** A second `npm start` on the same data: one line naming the cause and what to change, exit 1. */
const refuse = (line: string): never => {
  console.error(line);
  process.exit(1);
};
const OWN_DIRS = 'give this process its own CLICKHOUSE_DATA_DIR and EVENT_LOG_DIR';
const clickhouseDir = resolve(env.CLICKHOUSE_DATA_DIR);
const clickhouseOwner = env.CLICKHOUSE_URL ? undefined : clickHouseDirOwner(clickhouseDir);
if (clickhouseOwner !== undefined) {
  refuse(`another process (pid ${clickhouseOwner}) is using the embedded ClickHouse in ${clickhouseDir}: stop it, or ${OWN_DIRS}`);
}
const clickhouse = (() => {
  try {
    return openClickHouse({ url: env.CLICKHOUSE_URL, dataDir: env.CLICKHOUSE_DATA_DIR });
  } catch (err) {
    // Two processes that started at the same instant: the engine's lock decides.
    return refuse(`cannot open the embedded ClickHouse in ${clickhouseDir} (is another process using it? ${OWN_DIRS}): ${String(err)}`);
  }
})();
await migrate(clickhouse);
const store = await openCreditStore(env.VALKEY_URL);

// Without Kafka, what the event log still holds from a previous run is stored here, before the
// sync worker restores balances and before the gateway serves.
const emitter = await openEventPath(eventPathFromEnv(env, 'tollgate', () => clickhouse, logger)).catch((err: unknown) => {
  if (!(err instanceof DirectoryInUseError)) throw err;
  return refuse(`another process (pid ${err.pid}) is using the event log in ${resolve(err.dir)}: stop it, or ${OWN_DIRS}`);
});
// With Kafka, this process also runs the sink that carries the topic into ClickHouse.
const sink =
  env.KAFKA_BROKERS.length > 0
    ? new KafkaMeterSink({
        kafka: new KafkaClient({ brokers: env.KAFKA_BROKERS, clientId: 'tollgate-meter-sink' }),
        clickhouse,
        topic,
        batchSize: env.SINK_BATCH_SIZE,
        batchWaitMs: env.SINK_BATCH_WAIT_MS,
        dedupeHorizonDays: env.DEDUPE_HORIZON_DAYS,
        eventTimeWindow: eventTimeWindowFromEnv(env),
        logger,
      })
    : undefined;
await sink?.start();

/** Longest the start waits for the first restore of the balances before serving. */
const RESTORE_AT_START_MS = 30_000;

// Connections still busy this long after a stop signal are cut: a client that keeps sending would hold the stop open.
const STOP_GRACE_MS = 1_000;

const listening = <T>(what: string, variable: string, port: number, server: Promise<T>): Promise<T> =>
  server.catch((err: unknown) => {
    const inUse = err instanceof Error && 'code' in err && err.code === 'EADDRINUSE';
    console.error(inUse ? `port ${port} (${what}) is in use: set ${variable} to another port` : `cannot start the ${what}: ${String(err)}`);
    process.exit(1);
  });

const sample = env.UPSTREAM_URL
  ? undefined
  : await listening('sample upstream', 'SAMPLE_UPSTREAM_PORT', env.SAMPLE_UPSTREAM_PORT, startSampleUpstream({ port: env.SAMPLE_UPSTREAM_PORT }));
const upstreamUrl = env.UPSTREAM_URL ?? sample?.url ?? '';
const gatewayApp = createGatewayApp({
  store,
  emitter,
  config,
  upstreamUrl,
  upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
  ...(env.JWT_SECRET ? { jwtSecret: env.JWT_SECRET } : {}),
  logger,
});
const grants = new GrantRepository(clickhouse);
const sidecarApp = createSidecarApp({
  store,
  grants,
  config,
  adminTokens,
  authorizeTokens,
  ...(env.JWT_SECRET ? { jwtSecret: env.JWT_SECRET } : {}),
  emitter,
  clickhouse,
  ingestLimits: { maxBodyBytes: env.INGEST_MAX_BODY_BYTES, window: eventTimeWindowFromEnv(env) },
  logger,
  ready: () => clickhouse.ping().then((r) => r.success),
});
// The sync worker keeps balances on the metered truth (in memory too: the store is this process's).
const syncWorker = new SyncWorker({ clickhouse, store, ...syncScheduleFromEnv(env), logger });
syncWorker.start();
// The memory store starts empty: its first run restores it (the event log is stored by now), and
// the gateway serves once that is done, so no call meets the store-error policy at start. A
// restore that takes longer than this does not hold the start: the policy answers meanwhile.
if (!(await syncWorker.untilRestored(RESTORE_AT_START_MS))) logger.warn('balances are still being restored; calls meanwhile get the store-error policy');
const gateway = await listening('gateway', 'PORT', env.PORT, serveApp(gatewayApp, { port: env.PORT }));
const sidecar = await listening('sidecar', 'SIDECAR_PORT', env.SIDECAR_PORT, serveApp(sidecarApp, { port: env.SIDECAR_PORT }));

const token = adminTokens[0] ?? '';
console.log(`
Tollgate is running.
  gateway   ${gateway.url}   (proxying to ${upstreamUrl}${sample ? ', the built-in sample Open Banking API' : ''})
  sidecar   ${sidecar.url}   (authorize, admin, OpenMeter ingest and meter query, metrics)
  sync      balances reconciled with ClickHouse every ${env.SYNC_INTERVAL_MS / 1000} s, ${env.SYNC_SETTLE_LAG_MS / 1000} s behind now
  config    ${configurationSummary(configFile(env), config)}
  stores    credits: ${store.kind === 'valkey' ? 'Valkey' : 'in memory'}; events: ${env.KAFKA_BROKERS.length > 0 ? `Kafka topic ${topic}` : `local event log (${env.EVENT_LOG_DIR}/tollgate)`}; ClickHouse: ${env.CLICKHOUSE_URL ?? `embedded (${env.CLICKHOUSE_DATA_DIR})`}
${env.ADMIN_TOKENS.length > 0 ? '' : `  admin token (generated for this run; set ADMIN_TOKENS to choose): ${token}\n`}${
  env.AUTHORIZE_TOKENS.length > 0 ? '' : `  authorize token (Tollgate-Authorize-Token; generated for this run; set AUTHORIZE_TOKENS to choose): ${authorizeTokens[0] ?? ''}\n`
}
Top up TPP tpp-123 with 100 credits:
  curl -s -X POST ${sidecar.url}/admin/v1/subjects/tpp-123/credits \\
    -H 'authorization: Bearer ${token}' -H 'content-type: application/json' \\
    -H "idempotency-key: $(uuidgen 2>/dev/null || date +%s%N)" -d '{"amount": 100, "reason": "prepaid"}'

Call an API as tpp-123 (1 credit; balances 2, transactions 3, payments 10):
  curl -si ${gateway.url}/accounts -H 'x-tpp-id: tpp-123'

Ask the authorize API what a proxy in front would ask (nginx auth_request, Envoy, Traefik):
  curl -si ${sidecar.url}/v1/authorize -H 'tollgate-authorize-token: ${authorizeTokens[0] ?? ''}' \\
    -H 'x-tpp-id: tpp-123' -H 'x-original-method: GET' -H 'x-original-uri: /accounts'

Balance and ledger:
  curl -s ${sidecar.url}/admin/v1/subjects/tpp-123/balance -H 'authorization: Bearer ${token}'
  curl -s ${sidecar.url}/admin/v1/subjects/tpp-123/ledger -H 'authorization: Bearer ${token}'

Real-time debits against metered usage, per minute (drift is what reconciliation corrected):
  curl -s '${sidecar.url}/admin/v1/subjects/tpp-123/reconciliation?windowSize=MINUTE' -H 'authorization: Bearer ${token}'

Metered calls per endpoint (OpenMeter API; meters from the configuration):
  curl -s '${sidecar.url}/api/v1/meters/api_calls/query?subject=tpp-123&groupBy=endpoint' -H 'authorization: Bearer ${token}'
`);

// Calls in flight finish (and emit) first; then the event log is stored at full batch rate.
stopOnSignals(
  logger,
  [
    { name: 'gateway and sidecar servers', run: () => Promise.all([gateway.close(STOP_GRACE_MS), sidecar.close(STOP_GRACE_MS)]) },
    { name: 'sync worker', run: () => syncWorker.stop() },
    { name: 'sample upstream', run: () => sample?.close(STOP_GRACE_MS) },
    { name: 'events', run: () => emitter.close() },
    { name: 'sink', run: () => sink?.stop() },
    { name: 'credit store', run: () => store.close() },
    { name: 'ClickHouse', run: () => clickhouse.close() },
  ],
  () => ({ backlog: emitter.status?.().backlog }),
);
