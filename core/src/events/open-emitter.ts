import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { migrate } from '../clickhouse/migrations.ts';
import { KafkaEmitter, type SpoolFullPolicy } from '../kafka/kafka-emitter.ts';
import { ENV, type Env, type EnvName } from '../config/env.ts';
import type { Logger } from '../logger.ts';
import { DiskSpool, type FsyncPolicy } from '../spool/disk-spool.ts';
import { EventLog } from '../event-log/event-log.ts';
import { LogSink } from '../event-log/log-sink.ts';
import type { EventEmitter } from './emitter.ts';
import { LogEmitter } from './log-emitter.ts';

export interface EventPathOptions {
  clientId: string;
  kafkaBrokers: string[];
  topic: string;
  partitions: number;
  lingerMs: number;
  spool: { dir: string; maxBytes: number; fsync: FsyncPolicy; fullPolicy: SpoolFullPolicy };
  /** The local event log without Kafka, and the batches its sink writes. */
  log: { dir: string; fsyncMs: number; maxBytes: number; batchSize: number; batchWaitMs: number };
  /**
   * Where events go without Kafka: stored in this process through the idempotent writer. Called
   * only then, so a caller that opens the client here loads it only when it is used.
   */
  clickhouse: () => ClickHouseClient | Promise<ClickHouseClient>;
  /** DEDUPE_HORIZON_DAYS of that writer. */
  dedupeHorizonDays?: number;
  logger: Logger;
}

/** The variables of the producer path: every service that emits events reads these. */
export const EVENT_PATH_ENV = [
  'KAFKA_BROKERS',
  'KAFKA_TOPIC',
  'KAFKA_TOPIC_PARTITIONS',
  'KAFKA_LINGER_MS',
  'SPOOL_DIR',
  'SPOOL_MAX_BYTES',
  'SPOOL_FULL_POLICY',
  'SPOOL_FSYNC',
  'EVENT_LOG_DIR',
  'DEDUPE_HORIZON_DAYS',
] as const satisfies readonly EnvName[];

/**
 * The tuning of the local event log and its sink, read by `npm start`; a service that does not
 * read them (a gateway or sidecar run without Kafka, for development) takes their defaults.
 */
export const EVENT_LOG_ENV = ['EVENT_LOG_FSYNC_MS', 'EVENT_LOG_MAX_BYTES', 'SINK_BATCH_SIZE', 'SINK_BATCH_WAIT_MS'] as const satisfies readonly EnvName[];

/** The producer path's variables, as `readServiceEnv` gives them. */
export type EventPathEnv = Env<(typeof EVENT_PATH_ENV)[number]> & Partial<Env<(typeof EVENT_LOG_ENV)[number]>>;

/** The options of `openEventPath` from a service's environment. */
export const eventPathFromEnv = (
  env: EventPathEnv,
  clientId: string,
  clickhouse: EventPathOptions['clickhouse'],
  logger: Logger,
): EventPathOptions => ({
  clientId,
  kafkaBrokers: env.KAFKA_BROKERS,
  topic: env.KAFKA_TOPIC,
  partitions: env.KAFKA_TOPIC_PARTITIONS,
  lingerMs: env.KAFKA_LINGER_MS,
  spool: { dir: env.SPOOL_DIR, maxBytes: env.SPOOL_MAX_BYTES, fsync: env.SPOOL_FSYNC, fullPolicy: env.SPOOL_FULL_POLICY },
  log: {
    dir: env.EVENT_LOG_DIR,
    fsyncMs: env.EVENT_LOG_FSYNC_MS ?? ENV.EVENT_LOG_FSYNC_MS.fallback,
    maxBytes: env.EVENT_LOG_MAX_BYTES ?? ENV.EVENT_LOG_MAX_BYTES.fallback,
    batchSize: env.SINK_BATCH_SIZE ?? ENV.SINK_BATCH_SIZE.fallback,
    batchWaitMs: env.SINK_BATCH_WAIT_MS ?? ENV.SINK_BATCH_WAIT_MS.fallback,
  },
  clickhouse,
  dedupeHorizonDays: env.DEDUPE_HORIZON_DAYS,
  logger,
});

/**
 * The producer path of a service: with brokers, the Kafka emitter (spooling to disk while Kafka
 * is away); without, the local event log, drained into ClickHouse by this process. What a
 * previous run left in the log is stored before this resolves, so a caller that restores
 * balances or serves afterwards sees every event answered before a crash.
 * Throws DirectoryInUseError when another process writes the same log directory.
 */
export const openEventPath = async (o: EventPathOptions): Promise<EventEmitter> => {
  if (o.kafkaBrokers.length > 0) {
    // The Kafka client is loaded only here: a service without brokers never loads it.
    const { KafkaClient } = await import('../kafka/kafka-client.ts');
    const kafka = new KafkaClient({ brokers: o.kafkaBrokers, clientId: o.clientId });
    // Starting never waits on Kafka: the topic is checked in the background, and until that
    // succeeded events go to the spool, drained once it did.
    let ensured: Promise<void> | undefined;
    const ensureTopic = () =>
      (ensured ??= kafka.ensureTopics(o.topic, o.partitions).catch((err: unknown) => {
        ensured = undefined;
        throw err;
      }));
    void ensureTopic().catch((err: unknown) => {
      o.logger.warn('cannot check the events topic now; events spool until Kafka answers', { error: String(err) });
    });
    // One spool per service, so a gateway and a sidecar on one host never share segments.
    const spool = new DiskSpool({ dir: join(o.spool.dir, o.clientId), maxBytes: o.spool.maxBytes, fsync: o.spool.fsync });
    const emitter = new KafkaEmitter({
      kafka,
      ownsClient: true,
      topic: o.topic,
      spool,
      logger: o.logger,
      lingerMs: o.lingerMs,
      spoolFullPolicy: o.spool.fullPolicy,
      ensureTopic,
    });
    await emitter.start();
    return emitter;
  }
  // One log per service, so a gateway and a sidecar on one host never share segments.
  const log = new EventLog({ dir: join(o.log.dir, o.clientId), fsyncMs: o.log.fsyncMs, maxBytes: o.log.maxBytes });
  try {
    const clickhouse = await o.clickhouse();
    await migrate(clickhouse);
    const sink = new LogSink({ log, clickhouse, batchSize: o.log.batchSize, batchWaitMs: o.log.batchWaitMs, dedupeHorizonDays: o.dedupeHorizonDays, logger: o.logger });
    if (log.pending > 0) {
      o.logger.info('storing the events a previous run left in the event log', { events: log.pending, dir: log.dir });
      await sink.drain();
      o.logger.info('event log stored', { dir: log.dir });
    }
    sink.start();
    return new LogEmitter({ log, sink, logger: o.logger });
  } catch (err) {
    await log.close();
    throw err;
  }
};
