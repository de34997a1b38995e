import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { migrate } from '../clickhouse/migrations.ts';
import { ensureTopics, openKafka } from '../kafka/client.ts';
import { KafkaEmitter, type SpoolFullPolicy } from '../kafka/kafka-emitter.ts';
import type { Env, EnvName } from '../config/env.ts';
import type { Logger } from '../logger.ts';
import { DiskSpool, type FsyncPolicy } from '../spool/disk-spool.ts';
import { attachBusSink } from './bus-sink.ts';
import type { EventEmitter } from './emitter.ts';
import { InProcessBus } from './in-process-bus.ts';

export interface EventPathOptions {
  clientId: string;
  kafkaBrokers: string[];
  topic: string;
  partitions: number;
  lingerMs: number;
  spool: { dir: string; maxBytes: number; fsync: FsyncPolicy; fullPolicy: SpoolFullPolicy };
  /** Where events go without Kafka: stored in this process through the idempotent writer. */
  clickhouse: () => ClickHouseClient;
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
] as const satisfies readonly EnvName[];

/** The producer path's variables, as `readEnv` gives them. */
export type EventPathEnv = Env<(typeof EVENT_PATH_ENV)[number]>;

/** The options of `openEventPath` from a service's environment. */
export const eventPathFromEnv = (
  env: EventPathEnv,
  clientId: string,
  clickhouse: () => ClickHouseClient,
  logger: Logger,
): EventPathOptions => ({
  clientId,
  kafkaBrokers: env.KAFKA_BROKERS,
  topic: env.KAFKA_TOPIC,
  partitions: env.KAFKA_TOPIC_PARTITIONS,
  lingerMs: env.KAFKA_LINGER_MS,
  spool: { dir: env.SPOOL_DIR, maxBytes: env.SPOOL_MAX_BYTES, fsync: env.SPOOL_FSYNC, fullPolicy: env.SPOOL_FULL_POLICY },
  clickhouse,
  logger,
});

/**
 * The producer path of a service: with brokers, the Kafka emitter (spooling to disk while Kafka
 * is away); without, an in-process bus whose events are written to ClickHouse by this process.
 */
export const openEventPath = async (o: EventPathOptions): Promise<EventEmitter> => {
  if (o.kafkaBrokers.length > 0) {
    const kafka = openKafka(o.kafkaBrokers, o.clientId);
    await ensureTopics(kafka, o.topic, o.partitions).catch((err: unknown) => {
      o.logger.warn('cannot check the events topic now; events spool until Kafka answers', { error: String(err) });
    });
    // One spool per service, so a gateway and a sidecar on one host never share segments.
    const spool = new DiskSpool({ dir: join(o.spool.dir, o.clientId), maxBytes: o.spool.maxBytes, fsync: o.spool.fsync });
    const emitter = new KafkaEmitter({ kafka, topic: o.topic, spool, logger: o.logger, lingerMs: o.lingerMs, spoolFullPolicy: o.spool.fullPolicy });
    await emitter.start();
    return emitter;
  }
  const clickhouse = o.clickhouse();
  await migrate(clickhouse);
  const bus = new InProcessBus();
  attachBusSink(bus, clickhouse, o.logger);
  return bus;
};
