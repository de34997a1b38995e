import { DEFAULT_EVENT_TIME_WINDOW } from '../events/event-time.ts';

/**
 * Every environment variable Tollgate reads is defined here, once. A service names the
 * variables it reads; `readEnv` parses them all and reports every error at once.
 */
type Parser<T> = (raw: string | undefined, name: string) => T;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const integer =
  (fallback: number, min: number, max: number): Parser<number> =>
  (raw, name) => {
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return Number(raw);
  };

const url =
  (protocols: string[]): Parser<string | undefined> =>
  (raw, name) => {
    if (raw === undefined || raw === '') return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`${name} must be a URL, got "${raw}"`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new Error(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
    }
    return raw;
  };

const list: Parser<string[]> = (raw) =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A string, or the fallback when unset or empty; with a string fallback the value is always a string. */
function text(fallback: string): Parser<string>;
function text(fallback: undefined): Parser<string | undefined>;
function text(fallback: string | undefined): Parser<string | undefined> {
  return (raw) => (raw === undefined || raw === '' ? fallback : raw);
}

const oneOf =
  <T extends string>(values: readonly T[], fallback: T): Parser<T> =>
  (raw, name) => {
    if (raw === undefined || raw === '') return fallback;
    if (!(values as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };

/** 4 MiB: an ingest batch of well over 1,000 events, as OpenMeter takes. */
export const DEFAULT_INGEST_MAX_BODY_BYTES = 4 * 1024 * 1024;

export const ENV = {
  /** Port the service listens on. */
  PORT: integer(8080, 1, 65_535),
  /** Port of the gateway's /metrics, apart from PORT, which the TPPs call. */
  METRICS_PORT: integer(9464, 1, 65_535),
  /** Processes of the quota sidecar on one port (node:cluster); above 1 needs VALKEY_URL and CLICKHOUSE_URL. */
  SIDECAR_WORKERS: integer(1, 1, 64),
  /** Port of the quota sidecar when `npm start` runs everything in one process. */
  SIDECAR_PORT: integer(8081, 1, 65_535),
  /** Port of the built-in sample upstream when `npm start` runs without UPSTREAM_URL. */
  SAMPLE_UPSTREAM_PORT: integer(8090, 0, 65_535),
  /** Valkey for the credit store; unset → in-memory store (single process). */
  VALKEY_URL: url(['redis:', 'rediss:', 'valkey:', 'valkeys:']),
  /** Kafka brokers, comma-separated; unset → in-process event bus. */
  KAFKA_BROKERS: list,
  /** Topic of the api.call events (its dead-letter topic is `<topic>.dlq`). */
  KAFKA_TOPIC: text('api-calls'),
  /** Partitions of the events topic when Tollgate creates it. */
  KAFKA_TOPIC_PARTITIONS: integer(6, 1, 10_000),
  /** Most events the meter-sink writes to ClickHouse in one insert. */
  SINK_BATCH_SIZE: integer(10_000, 1, 1_000_000),
  /** Longest the meter-sink waits for a fetch to fill before it writes what it has. */
  SINK_BATCH_WAIT_MS: integer(250, 1, 60_000),
  /** Longest the Kafka emitter holds an event before sending its batch. */
  KAFKA_LINGER_MS: integer(5, 0, 10_000),
  /** Directory of the emitter's disk spool, used while Kafka is unreachable. */
  SPOOL_DIR: text('.data/spool'),
  /** Largest the disk spool may grow. */
  SPOOL_MAX_BYTES: integer(1024 ** 3, 1024, Number.MAX_SAFE_INTEGER),
  /** When the spool is full: `deny` new requests (503), or `serve` them and count each unrecorded event. */
  SPOOL_FULL_POLICY: oneOf(['deny', 'serve'] as const, 'deny'),
  /** When spooled events reach the disk: `batch` (fsync after every append), `interval` (every second), `none` (the OS decides). */
  SPOOL_FSYNC: oneOf(['batch', 'interval', 'none'] as const, 'batch'),
  /** Directory of the local event log (no KAFKA_BROKERS): every event is written here before its call is answered. */
  EVENT_LOG_DIR: text('.data/event-log'),
  /**
   * Group commit of the event log: the longest an appended event waits for its fsync, in ms
   * (0: fsync after every event-loop turn that appended). The append itself survives a process
   * kill; the fsync is what survives a power loss.
   */
  EVENT_LOG_FSYNC_MS: integer(5, 0, 60_000),
  /** Largest the event log's unstored events may grow on disk before calls are refused (503). */
  EVENT_LOG_MAX_BYTES: integer(1024 ** 3, 1024, Number.MAX_SAFE_INTEGER),
  /** Kafka session timeout of the meter-sink: how soon a crashed sink's partitions move to another. */
  SINK_SESSION_TIMEOUT_MS: integer(30_000, 6_000, 300_000),
  /**
   * How long a stored event's (source, id) is remembered, from its first storage: a copy that
   * arrives within this many days is recognised and dropped, whatever its time (at least 32).
   */
  DEDUPE_HORIZON_DAYS: integer(32, 32, 3_650),
  /** ClickHouse HTTP endpoint; unset → embedded chDB in CLICKHOUSE_DATA_DIR. */
  CLICKHOUSE_URL: url(['http:', 'https:']),
  /** Data directory of the embedded ClickHouse engine. */
  CLICKHOUSE_DATA_DIR: text('.data/chdb'),
  /** Bearer tokens accepted by the admin API, comma-separated. */
  ADMIN_TOKENS: list,
  /** Credentials of the sidecar's authorize API (sent in Tollgate-Authorize-Token), comma-separated; required off loopback. */
  AUTHORIZE_TOKENS: list,
  /** Address the quota sidecar listens on: loopback unless set (0.0.0.0 or :: for every interface, which needs AUTHORIZE_TOKENS). */
  LISTEN_HOST: text('127.0.0.1'),
  /** Upstream the gateway proxies to; unset under `npm start` → built-in sample Open Banking API. */
  UPSTREAM_URL: url(['http:', 'https:']),
  /** Time the gateway waits for the upstream's response headers before answering 504. */
  UPSTREAM_TIMEOUT_MS: integer(30_000, 1, 600_000),
  /** Path of the YAML configuration (meters, cost rules, subject extraction, store-error policy). */
  TOLLGATE_CONFIG: text(undefined),
  /** Shared secret (HS256) for bearer JWTs when subject extraction uses a JWT without a JWKS URL. */
  JWT_SECRET: text(undefined),
  /** How often the sync worker reconciles the subjects with recent activity. */
  SYNC_INTERVAL_MS: integer(10_000, 100, 3_600_000),
  /** How far behind now the reconciliation watermark stays: covers producer linger and sink flush. */
  SYNC_SETTLE_LAG_MS: integer(120_000, 0, 86_400_000),
  /** Subjects per ClickHouse query and Valkey round trip of the sync worker. */
  SYNC_BATCH_SIZE: integer(1_000, 1, 100_000),
  /** How often the sync worker reconciles every subject, not only those with recent activity. */
  SYNC_FULL_SWEEP_MS: integer(3_600_000, 1_000, 604_800_000),
  /** Largest body of the OpenMeter ingest API (`POST /api/v1/events`): batches of thousands of events; the admin API keeps limits.maxBodyBytes. */
  INGEST_MAX_BODY_BYTES: integer(DEFAULT_INGEST_MAX_BODY_BYTES, 1024, 100 * 1024 * 1024),
  /** The oldest an event may be when it arrives (ingest: now; the sink: its Kafka timestamp); at most the dedupe horizon. */
  EVENT_MAX_AGE_MS: integer(DEFAULT_EVENT_TIME_WINDOW.maxAgeMs, 0, DEFAULT_EVENT_TIME_WINDOW.maxAgeMs),
  /** The furthest ahead of its arrival an event may be (clock skew of the emitting API). */
  EVENT_MAX_AHEAD_MS: integer(DEFAULT_EVENT_TIME_WINDOW.maxAheadMs, 0, 86_400_000),
  /** How often the sync worker checks that the credit store still holds restored state (one cheap read). */
  SYNC_RESTORE_POLL_MS: integer(250, 10, 60_000),
  /** Longest a restore waits for the metering path to store the events produced before the loss; then it restores from what is stored. */
  SYNC_RESTORE_CATCHUP_TIMEOUT_MS: integer(300_000, 0, 3_600_000),
  /** Log level. */
  LOG_LEVEL: oneOf(['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'),
} satisfies Record<string, Parser<unknown>>;

export type EnvName = keyof typeof ENV;
export type Env<K extends EnvName> = { [P in K]: ReturnType<(typeof ENV)[P]> };

/** Parses the named variables; throws one ConfigError that lists every problem. */
export const readEnv = <K extends EnvName>(names: readonly K[], source: Record<string, string | undefined> = process.env): Env<K> => {
  const values: Partial<Record<EnvName, unknown>> = {};
  const problems: string[] = [];
  for (const name of names) {
    try {
      values[name] = ENV[name](source[name], name);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as Env<K>;
};
