import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEventV1 } from 'cloudevents';
import { createLogger, DiskSpool, ensureTopics, InProcessBus, KafkaEmitter, openKafka, type EventEmitter } from '@tollgate/core';

/**
 * The in-process event bus with one subscriber that only counts what it receives, by
 * outcome: `events`, `events.debited`, `events.status.2xx`, … The bus is what a service
 * runs without Kafka; counting proves every call produced its event.
 */
export const countingBus = () => {
  const bus = new InProcessBus();
  const counts: Record<string, number> = { events: 0 };
  const count = (key: string) => (counts[key] = (counts[key] ?? 0) + 1);
  bus.subscribe((batch) => {
    for (const e of batch) {
      const data = e.data as { decision?: string; status_code?: number } | undefined;
      count('events');
      count(`events.${data?.decision ?? 'none'}`);
      count(`events.status.${Math.floor((data?.status_code ?? 0) / 100)}xx`);
    }
  });
  return { bus, counts };
};

/**
 * With KAFKA_BROKERS: the production producer path (Kafka emitter with its disk spool), with
 * the same counts taken as events are handed to it. Otherwise the counting in-process bus.
 */
export const benchEmitter = async (): Promise<{ emitter: EventEmitter; counts: Record<string, number> }> => {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) {
    const { bus, counts } = countingBus();
    return { emitter: bus, counts };
  }
  const kafka = openKafka(brokers.split(','), 'bench-gateway');
  await ensureTopics(kafka, 'api-calls', 6);
  const spool = new DiskSpool({ dir: mkdtempSync(join(tmpdir(), 'bench-spool-')), maxBytes: 1024 ** 3 });
  const kafkaEmitter = new KafkaEmitter({ kafka, topic: 'api-calls', spool, logger: createLogger('bench', 'warn') });
  await kafkaEmitter.start();
  const counts: Record<string, number> = { events: 0 };
  const count = (key: string) => (counts[key] = (counts[key] ?? 0) + 1);
  const emitter: EventEmitter = {
    emit(e: CloudEventV1<unknown>) {
      const data = e.data as { decision?: string; status_code?: number } | undefined;
      count('events');
      count(`events.${data?.decision ?? 'none'}`);
      count(`events.status.${Math.floor((data?.status_code ?? 0) / 100)}xx`);
      kafkaEmitter.emit(e);
    },
    get accepting() {
      return kafkaEmitter.accepting;
    },
    flush: () => kafkaEmitter.flush(),
    close: () => kafkaEmitter.close(),
  };
  return { emitter, counts };
};
