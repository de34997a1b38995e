import { DEFAULT_EVENT_TIME_WINDOW } from '../events/event-time.ts';
import { integer, list, oneOf, text, url, type EnvKind } from './env-parsers.ts';

export { ConfigError } from './env-parsers.ts';

/** One environment variable: how it is parsed, its default, and what it means. */
export interface EnvDefinition<T> extends EnvKind<T> {
  /** What the variable sets, for a person configuring a service. */
  readonly meaning: string;
}

/** 4 MiB: an ingest batch of well over 1,000 events, as OpenMeter takes. */
export const DEFAULT_INGEST_MAX_BODY_BYTES = 4 * 1024 * 1024;

const GIB = 1024 ** 3;
const port = (fallback: number, meaning: string) => ({ ...integer(fallback, 1, 65_535), meaning });

/**
 * Every environment variable Tollgate reads is defined here, once. A service lists the ones it
 * reads (`serviceEnv` in core/src/service), and may give one its own default (PORT).
 */
export const ENV = {
  PORT: port(8080, 'the port the service listens on'),
  METRICS_PORT: port(9464, "the gateway's `/metrics`, apart from `PORT`, which TPPs call (expose it to the scraper only); under `npm start`, `/metrics` is the sidecar's"),
  SIDECAR_WORKERS: { ...integer(1, 1, 64), meaning: 'quota-sidecar processes on one port (node:cluster); above 1 needs `VALKEY_URL` and `CLICKHOUSE_URL`' },
  SIDECAR_PORT: port(8081, "the quota sidecar's port under `npm start`"),
  SAMPLE_UPSTREAM_PORT: { ...integer(8090, 0, 65_535), meaning: "the built-in sample Open Banking API's port under `npm start` without `UPSTREAM_URL`" },
  VALKEY_URL: { ...url(['redis:', 'rediss:', 'valkey:', 'valkeys:'], 'unset → in-memory store'), meaning: '`redis://host:port` of Valkey, the credit store' },
  KAFKA_BROKERS: { ...list('unset → local event log'), meaning: 'Kafka brokers, comma-separated' },
  KAFKA_TOPIC: { ...text('api-calls'), meaning: 'topic of the api.call events (dead letters: `<topic>.dlq`)' },
  KAFKA_TOPIC_PARTITIONS: { ...integer(6, 1, 10_000), meaning: 'partitions of the events topic when Tollgate creates it' },
  SINK_BATCH_SIZE: { ...integer(20_000, 1, 1_000_000), meaning: "most events per ClickHouse insert (the meter-sink, and `npm start`'s embedded sink)" },
  SINK_BATCH_WAIT_MS: { ...integer(250, 1, 60_000), meaning: "longest a fetch (or the embedded sink's batch) waits to fill before what it has is written" },
  // Each Kafka send costs the gateway far more than each event in it, so batches are filled
  // (event freshness has a budget of seconds): in one gateway benchmark run, 5 ms took 1.71× the
  // bare proxy's CPU per request and 200 ms 1.21×. A killed gateway loses this window's events.
  KAFKA_LINGER_MS: {
    ...integer(100, 0, 10_000),
    meaning: "longest an event waits in the emitter's batch before it is sent; a killed gateway loses the events of this window",
  },
  SPOOL_DIR: { ...text('.data/spool'), meaning: "the emitter's disk spool, used while Kafka is unreachable" },
  SPOOL_MAX_BYTES: { ...integer(GIB, 1024, Number.MAX_SAFE_INTEGER), shown: '1 GiB', meaning: 'largest the disk spool may grow' },
  SPOOL_FULL_POLICY: { ...oneOf(['deny', 'serve'] as const, 'deny'), meaning: 'full spool: `deny` new requests (503) or `serve` them and count `tollgate_emitter_unrecorded_total`' },
  SPOOL_FSYNC: { ...oneOf(['batch', 'interval', 'none'] as const, 'batch'), meaning: 'when spooled events reach the disk: `batch` (fsync after every append), `interval` (every second), `none` (the OS decides)' },
  EVENT_LOG_DIR: { ...text('.data/event-log'), meaning: 'the local event log without Kafka (`<dir>/<service>/`): every event is written here before its call is answered; one process per directory' },
  // The append itself survives a process kill; the fsync is what survives a power loss.
  EVENT_LOG_FSYNC_MS: { ...integer(5, 0, 60_000), meaning: 'group commit of the event log: the longest an appended event waits for its fsync (0: after each event-loop turn that appended)' },
  EVENT_LOG_MAX_BYTES: { ...integer(GIB, 1024, Number.MAX_SAFE_INTEGER), shown: '1 GiB', meaning: 'unstored bytes of the event log beyond which calls are refused (503)' },
  SINK_SESSION_TIMEOUT_MS: { ...integer(30_000, 6_000, 300_000), meaning: "Kafka session timeout of the meter-sink: how soon a crashed sink's partitions move to another" },
  DEDUPE_HORIZON_DAYS: {
    ...integer(32, 32, 3_650),
    meaning: "how long a stored event's `(source, id)` is remembered (from its first storage; at least 32): a copy within it is dropped, whatever its time",
  },
  CLICKHOUSE_URL: { ...url(['http:', 'https:'], 'unset → embedded chDB'), meaning: 'ClickHouse HTTP endpoint (`http://user:pass@host:8123/db`)' },
  CLICKHOUSE_DATA_DIR: { ...text('.data/chdb'), meaning: 'data directory of the embedded ClickHouse engine' },
  ADMIN_TOKENS: { ...list('none (`npm start` generates one)'), meaning: 'bearer tokens of the admin and OpenMeter APIs, comma-separated' },
  AUTHORIZE_TOKENS: {
    ...list('none (`npm start` generates one)'),
    meaning: "credentials of the sidecar's authorize API, sent in `Tollgate-Authorize-Token`, comma-separated; required unless the sidecar listens on loopback",
  },
  LISTEN_HOST: { ...text('127.0.0.1'), meaning: 'address the quota sidecar listens on (`0.0.0.0` or `::` for every interface, which needs `AUTHORIZE_TOKENS`)' },
  UPSTREAM_URL: { ...url(['http:', 'https:'], 'required by the gateway; unset under `npm start` → sample API'), meaning: 'the API the gateway proxies to' },
  UPSTREAM_TIMEOUT_MS: { ...integer(30_000, 1, 600_000), meaning: "time the gateway waits for the upstream's response headers before answering 504" },
  TOLLGATE_CONFIG: {
    ...text(undefined, 'required by the gateway and the sidecar; `deploy/config/tollgate.yaml` under `npm start`'),
    meaning: 'path of the YAML configuration: subject extraction, cost rules, store-error policy, meters',
  },
  JWT_SECRET: { ...text(undefined, 'unset'), meaning: 'shared secret (HS256) for bearer JWTs when subject extraction uses a JWT without a JWKS URL' },
  SYNC_INTERVAL_MS: { ...integer(10_000, 100, 3_600_000), meaning: 'how often the sync worker reconciles the subjects with recent activity' },
  SYNC_SETTLE_LAG_MS: { ...integer(120_000, 0, 86_400_000), meaning: 'how far behind now the reconciliation watermark stays: covers producer linger and sink flush' },
  SYNC_BATCH_SIZE: { ...integer(1_000, 1, 100_000), meaning: 'subjects per ClickHouse query and Valkey round trip of the sync worker' },
  SYNC_FULL_SWEEP_MS: { ...integer(3_600_000, 1_000, 604_800_000), meaning: 'how often the sync worker reconciles every subject, not only those with recent activity' },
  INGEST_MAX_BODY_BYTES: {
    ...integer(DEFAULT_INGEST_MAX_BODY_BYTES, 1024, 100 * 1024 * 1024),
    shown: '4 MiB',
    meaning: 'body limit of `POST /api/v1/events` (its own; the admin API keeps `limits.maxBodyBytes`, 64 KiB)',
  },
  EVENT_MAX_AGE_MS: {
    ...integer(DEFAULT_EVENT_TIME_WINDOW.maxAgeMs, 0, DEFAULT_EVENT_TIME_WINDOW.maxAgeMs),
    shown: '31 days',
    meaning: 'the oldest an event may be when it arrives (ingest: now; the sink: its Kafka timestamp); at most 31 days, inside the dedupe horizon',
  },
  EVENT_MAX_AHEAD_MS: {
    ...integer(DEFAULT_EVENT_TIME_WINDOW.maxAheadMs, 0, 86_400_000),
    shown: '5 minutes',
    meaning: 'the furthest ahead of its arrival an event may be (clock skew of the emitting API)',
  },
  SYNC_RESTORE_POLL_MS: { ...integer(250, 10, 60_000), meaning: 'how often the sync worker checks that the credit store still holds restored state (one cheap read)' },
  SYNC_RESTORE_CATCHUP_TIMEOUT_MS: {
    ...integer(300_000, 0, 3_600_000),
    meaning: 'longest a restore waits for the metering path to store the events produced before the loss; then it restores from what is stored',
  },
  LOG_LEVEL: { ...oneOf(['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'), meaning: '`debug`, `info`, `warn`, `error` or `silent`' },
} satisfies Record<string, EnvDefinition<unknown>>;

export type EnvName = keyof typeof ENV;
export type EnvValue<P extends EnvName> = (typeof ENV)[P]['fallback'];
export type Env<K extends EnvName> = { [P in K]: EnvValue<P> };
