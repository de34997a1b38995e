import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEventV1 } from 'cloudevents';
import { createLogger } from '@tollgate/core';
import { readServiceEnv, serviceEnv } from '@tollgate/core/service';
import { metrics } from '@tollgate/core/metrics';
import { InProcessBus, type EventEmitter } from '@tollgate/core/events';
import { EVENT_PATH_ENV, EventLog, eventPathFromEnv, LogEmitter, LogSink, openEventPath } from '@tollgate/core/event-path';
import { KafkaClient } from '@tollgate/core/kafka';
import { openClickHouse } from '@tollgate/core/clickhouse';
import { outboxTee } from './outbox-tee.ts';

/**
 * Counts events by outcome as `events`, `events.debited`, `events.status.2xx`, … Counting
 * runs in the process under test, once per event, so it adds to plain numbers and builds
 * the names only when the counts are read.
 */
const eventCounter = () => {
  let events = 0;
  const byDecision = new Map<string, number>();
  const byStatusClass = new Map<number, number>();
  const count = (e: CloudEventV1<unknown>) => {
    const data = e.data as { decision?: string; status_code?: number } | undefined;
    const decision = data?.decision ?? 'none';
    const statusClass = Math.floor((data?.status_code ?? 0) / 100);
    events++;
    byDecision.set(decision, (byDecision.get(decision) ?? 0) + 1);
    byStatusClass.set(statusClass, (byStatusClass.get(statusClass) ?? 0) + 1);
  };
  const counts = (): Record<string, number> => {
    const out: Record<string, number> = { events };
    for (const [decision, n] of byDecision) out[`events.${decision}`] = n;
    for (const [statusClass, n] of byStatusClass) out[`events.status.${statusClass}xx`] = n;
    return out;
  };
  return { count, counts };
};

/**
 * The in-process event bus with one subscriber that only counts what it receives (see
 * eventCounter). The bus is what a service runs without Kafka; counting proves every call
 * produced its event.
 */
export const countingBus = () => {
  const bus = new InProcessBus();
  const { count, counts } = eventCounter();
  bus.subscribe((batch) => {
    for (const e of batch) count(e);
  });
  return { bus, counts };
};

/**
 * BENCH_EMITTER=log: the local event log of `npm start` on the request path (one synchronous
 * append per event, fsync grouped every EVENT_LOG_FSYNC_MS, default 5), with the same counts.
 * Nothing drains it: this measures what the log costs the gateway, not the sink's work.
 */
const loggingEmitter = (): { emitter: EventEmitter; counts: () => Record<string, number> } => {
  const log = new EventLog({ dir: mkdtempSync(join(tmpdir(), 'bench-event-log-')), fsyncMs: Number(process.env.EVENT_LOG_FSYNC_MS ?? 5) });
  // Never started: its ClickHouse client is made but never used.
  const sink = new LogSink({ log, clickhouse: openClickHouse({ url: 'http://127.0.0.1:9' }) });
  const logEmitter = new LogEmitter({ log, sink });
  const { count, counts } = eventCounter();
  const emitter: EventEmitter = {
    emit(e: CloudEventV1<unknown>) {
      count(e);
      logEmitter.emit(e);
    },
    get accepting() {
      return logEmitter.accepting;
    },
    flush: () => Promise.resolve(),
    close: () => log.close(),
  };
  return { emitter, counts };
};

/** Events per delivery of the Kafka emitter so far: `events.batches` and `events.perBatch`. */
const batchCounts = async (): Promise<Record<string, number>> => {
  const values = (await metrics.emitterBatchEvents.get()).values;
  const count = values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  const sum = values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  return { 'events.batches': count, 'events.perBatch': count > 0 ? Math.round(sum / count) : 0 };
};

/**
 * With KAFKA_BROKERS: the producer path exactly as a gateway opens it (`openEventPath` with the
 * environment's KAFKA_* settings and their defaults, spooling under a temporary SPOOL_DIR), with
 * the same counts taken as events are handed to it; with BENCH_OUTBOX=log too, through the local
 * event log first (outbox-tee.ts). BENCH_EMITTER=log: the local event log alone.
 * Otherwise the counting in-process bus.
 */
export const benchEmitter = async (): Promise<{ emitter: EventEmitter; counts: () => Promise<Record<string, number>> }> => {
  const brokers = process.env.KAFKA_BROKERS;
  if (process.env.BENCH_EMITTER === 'log') {
    const { emitter, counts } = loggingEmitter();
    return { emitter, counts: async () => counts() };
  }
  if (!brokers) {
    const { bus, counts } = countingBus();
    return { emitter: bus, counts: async () => counts() };
  }
  const env = readServiceEnv(serviceEnv('bench-gateway', EVENT_PATH_ENV), { ...process.env, SPOOL_DIR: mkdtempSync(join(tmpdir(), 'bench-spool-')) });
  // Created before the first event, so that none is spooled while the topic is checked.
  const kafka = new KafkaClient({ brokers: env.KAFKA_BROKERS, clientId: 'bench-gateway-admin' });
  await kafka.ensureTopics(env.KAFKA_TOPIC, env.KAFKA_TOPIC_PARTITIONS);
  await kafka.close();
  const logger = createLogger('bench', 'warn');
  // Never used with brokers: the events go to Kafka, not to a ClickHouse of this process.
  const unusedClickHouse = () => openClickHouse({ url: 'http://127.0.0.1:9' });
  const opened = await openEventPath(eventPathFromEnv(env, 'bench-gateway', unusedClickHouse, logger));
  const path = process.env.BENCH_OUTBOX === 'log' ? outboxTee(opened) : opened;
  const { count, counts } = eventCounter();
  const emitter: EventEmitter = {
    emit(e: CloudEventV1<unknown>) {
      count(e);
      path.emit(e);
    },
    get accepting() {
      return path.accepting;
    },
    flush: () => path.flush(),
    close: () => path.close(),
  };
  const spooled = async () => (await metrics.spoolDepth.get()).values[0]?.value ?? 0;
  return { emitter, counts: async () => ({ ...counts(), ...(await batchCounts()), 'events.spooled': await spooled() }) };
};
