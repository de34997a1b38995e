import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEventV1 } from 'cloudevents';
import {
  createLogger,
  DiskSpool,
  EventLog,
  InProcessBus,
  KafkaClient,
  KafkaEmitter,
  LogEmitter,
  LogSink,
  openClickHouse,
  type EventEmitter,
} from '@tollgate/core';

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

/**
 * With KAFKA_BROKERS: the production producer path (Kafka emitter with its disk spool), with
 * the same counts taken as events are handed to it. BENCH_EMITTER=log: the local event log.
 * Otherwise the counting in-process bus.
 */
export const benchEmitter = async (): Promise<{ emitter: EventEmitter; counts: () => Record<string, number> }> => {
  const brokers = process.env.KAFKA_BROKERS;
  if (process.env.BENCH_EMITTER === 'log') return loggingEmitter();
  if (!brokers) {
    const { bus, counts } = countingBus();
    return { emitter: bus, counts };
  }
  const kafka = new KafkaClient({ brokers: brokers.split(','), clientId: 'bench-gateway' });
  await kafka.ensureTopics('api-calls', 6);
  const spool = new DiskSpool({ dir: mkdtempSync(join(tmpdir(), 'bench-spool-')), maxBytes: 1024 ** 3 });
  const kafkaEmitter = new KafkaEmitter({ kafka, ownsClient: true, topic: 'api-calls', spool, logger: createLogger('bench', 'warn') });
  await kafkaEmitter.start();
  const { count, counts } = eventCounter();
  const emitter: EventEmitter = {
    emit(e: CloudEventV1<unknown>) {
      count(e);
      kafkaEmitter.emit(e);
    },
    get accepting() {
      return kafkaEmitter.accepting;
    },
    flush: () => kafkaEmitter.flush(),
    close: () => kafkaEmitter.close(),
  };
  return { emitter, counts: () => ({ ...counts(), 'events.spooled': kafkaEmitter.spooled }) };
};
