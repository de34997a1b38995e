import type { ClickHouseClient } from '@clickhouse/client';
import { createLogger, type Logger } from '@tollgate/core';
import { configurationSummary, servedOrExit, serveApp, stopOnSignals } from '@tollgate/core/service';
import { epochMinute, openCreditStore, type CreditStore } from '@tollgate/core/credits';
import { eventTimeWindowFromEnv } from '@tollgate/core/events';
import { eventPathFromEnv, openEventPath } from '@tollgate/core/event-path';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { GrantRepository, restoreStore } from '@tollgate/core/ledger';
import type { MeterWrites } from '@tollgate/core/meters';
import { reconcileReplayed } from './replay/reconcile-replayed.ts';
import type { Replays } from './replay/replay-registry.ts';
import type { SidecarSettings } from './sidecar-config.ts';
import { createSidecarApp } from './sidecar-app.ts';

export const SERVICE = 'quota-sidecar';
/** In-flight requests get this long to finish after SIGTERM before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

/** One of several sidecar processes on one port (SIDECAR_WORKERS > 1). */
export interface WorkerRole {
  /** 0 … SIDECAR_WORKERS-1, kept by a restarted worker: it names the worker's disk spool. */
  index: number;
  /** /metrics of every worker, collected by the primary. */
  metricsText: () => Promise<string>;
  /** The primary's replays (with Kafka): their progress lives in that one process. */
  replays: Replays | undefined;
  /** The primary's meter writes: one process creates and deletes meters, one at a time. */
  meterWrites: MeterWrites;
}

/** The events client id, and so the spool folder, of a worker: worker 0 uses the single process's. */
export const eventClientId = (index: number): string => (index === 0 ? SERVICE : `${SERVICE}-${index}`);

/** ClickHouse with the schema migrated; a migration that fails ends the process (exit 1). */
export const openMigratedClickHouse = async (
  env: Pick<SidecarSettings['env'], 'CLICKHOUSE_URL' | 'CLICKHOUSE_DATA_DIR'>,
  logger: Logger,
): Promise<ClickHouseClient> => {
  const clickhouse = openClickHouse({ url: env.CLICKHOUSE_URL, dataDir: env.CLICKHOUSE_DATA_DIR });
  try {
    await migrate(clickhouse);
  } catch (err) {
    logger.error('ClickHouse migrations failed', { error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
  return clickhouse;
};

/**
 * Replays of the events topic with Kafka, reconciling what they restore; undefined without Kafka.
 * The Kafka client (and the replay, which reads the topic with it) is loaded only then.
 */
export const openReplays = async (
  env: Pick<SidecarSettings['env'], 'KAFKA_BROKERS' | 'KAFKA_TOPIC' | 'SYNC_SETTLE_LAG_MS' | 'DEDUPE_HORIZON_DAYS'>,
  clickhouse: ClickHouseClient,
  store: CreditStore,
  logger: Logger,
): Promise<Replays | undefined> => {
  if (env.KAFKA_BROKERS.length === 0) return undefined;
  const [{ KafkaClient }, { ReplayRegistry }] = await Promise.all([import('@tollgate/core/kafka'), import('./replay/replay-registry.ts')]);
  return new ReplayRegistry({
    kafka: new KafkaClient({ brokers: env.KAFKA_BROKERS, clientId: `${SERVICE}-replay` }),
    clickhouse,
    topic: env.KAFKA_TOPIC,
    dedupeHorizonDays: env.DEDUPE_HORIZON_DAYS,
    reconcile: reconcileReplayed({ clickhouse, store, settleLagMs: env.SYNC_SETTLE_LAG_MS, logger }),
    logger,
  });
};

/** Runs the sidecar in this process until SIGTERM or SIGINT: alone, or as one worker of several. */
export const runSidecar = async ({ env, config, meters }: SidecarSettings, worker?: WorkerRole): Promise<void> => {
  const logger = createLogger(SERVICE, env.LOG_LEVEL);

  if (env.AUTHORIZE_TOKENS.length === 0 && !worker?.index) {
    logger.warn(`AUTHORIZE_TOKENS is empty: the authorize API is open to every process on this host (LISTEN_HOST ${env.LISTEN_HOST}). Set AUTHORIZE_TOKENS to require a credential in Tollgate-Authorize-Token.`);
  }
  if (env.ADMIN_TOKENS.length === 0 && !worker?.index) {
    logger.warn('ADMIN_TOKENS is empty: the admin API (top-ups, balances, ledger) and the OpenMeter API (/api/v1: ingest, meters) refuse every request with 401. Set ADMIN_TOKENS to one or more comma-separated bearer tokens.');
  }

  // A worker's primary has migrated the schema before starting it.
  const clickhouse = worker ? openClickHouse({ url: env.CLICKHOUSE_URL, dataDir: env.CLICKHOUSE_DATA_DIR }) : await openMigratedClickHouse(env, logger);

  // Decisions and ingested events take the gateway's producer path: Kafka when brokers are set
  // (spooled to disk while Kafka is away), otherwise the local event log, stored in ClickHouse here.
  const topic = env.KAFKA_TOPIC;
  const emitter = await openEventPath(eventPathFromEnv(env, eventClientId(worker?.index ?? 0), () => clickhouse, logger));

  const store = await openCreditStore(env.VALKEY_URL);
  // The Valkey store's own module (loaded by openCreditStore only for a Valkey URL).
  const valkey = store.kind === 'valkey' ? await import('@tollgate/core/credits/valkey') : undefined;
  if (valkey && store instanceof valkey.ValkeyCreditStore) {
    // Not fatal: /readyz stays 503 until Valkey answers, and the store-error policy decides meanwhile.
    await store.connected().catch((err: unknown) => logger.warn('Valkey is not reachable yet', { error: String(err) }));
  } else {
    // A memory store is empty at start, and no sync worker restores it: the balances are
    // rebuilt once from this sidecar's ClickHouse (grants minus metered usage) before serving.
    const restored = await restoreStore({ clickhouse, store, watermarkMinute: () => epochMinute(Date.now() - env.SYNC_SETTLE_LAG_MS), detectedAtMs: Date.now(), logger });
    logger.info('balances restored', { subjects: restored.subjects });
  }

  // Replay re-reads the events topic (only with Kafka). A worker of several asks the primary,
  // whose memory holds every replay's progress.
  // With Valkey and Kafka, a restore of a wiped store waits for this process's events (restore-acks.ts).
  const restoreAcks = valkey ? valkey.restoreAcksFor(store, emitter, logger) : { stop: async () => undefined };
  const replays = worker ? worker.replays : await openReplays(env, clickhouse, store, logger);

  const app = createSidecarApp({
    store,
    grants: new GrantRepository(clickhouse),
    config,
    adminTokens: env.ADMIN_TOKENS,
    authorizeTokens: env.AUTHORIZE_TOKENS,
    jwtSecret: env.JWT_SECRET,
    emitter,
    clickhouse,
    replays,
    meters,
    meterWrites: worker?.meterWrites,
    ingestLimits: { maxBodyBytes: env.INGEST_MAX_BODY_BYTES, window: eventTimeWindowFromEnv(env) },
    ready: async () => (await clickhouse.ping()).success,
    metricsText: worker?.metricsText,
    logger,
  });

  // A port in use is one line that names it and PORT, and exit 1 (a worker of several: the primary stops).
  const server = await servedOrExit(serveApp(app, { port: env.PORT, hostname: env.LISTEN_HOST }), {
    service: SERVICE,
    port: env.PORT,
    variable: 'PORT',
    host: { address: env.LISTEN_HOST, variable: 'LISTEN_HOST' },
  });
  logger.info('listening', {
    address: env.LISTEN_HOST,
    port: server.port,
    ...(worker ? { worker: worker.index, workers: env.SIDECAR_WORKERS } : {}),
    store: store.kind,
    events: env.KAFKA_BROKERS.length > 0 ? `kafka:${topic}` : 'event-log',
    clickhouse: env.CLICKHOUSE_URL ? 'server' : 'embedded',
    config: configurationSummary(env.TOLLGATE_CONFIG ?? '', config),
  });

  // Answered requests' events are flushed (to Kafka or the spool, or stored by the bus's sink) before ClickHouse closes.
  stopOnSignals(logger, [
    { name: 'server', run: () => server.close(SHUTDOWN_GRACE_MS) },
    { name: 'events', run: () => emitter.close() },
    { name: 'producer mark', run: () => restoreAcks.stop() },
    { name: 'credit store', run: () => store.close() },
    { name: 'ClickHouse', run: () => clickhouse.close() },
  ]);
};
