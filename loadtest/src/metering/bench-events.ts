import type { ClickHouseClient } from '@clickhouse/client';
import { createLogger, type KafkaClient } from '@tollgate/core';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { waitFor } from '../../../test/harness/wait-for.ts';

/** The data of the metering benchmarks: the same events, topic layout and sink settings in each. */
export const PARTITIONS = 6;
export const BATCH = 10_000;
const SUBJECTS = 1_000;

/** Event `i`: an api.call of one of SUBJECTS subjects, a millisecond after event `i - 1`. */
export const eventJson = (i: number): string =>
  JSON.stringify({
    specversion: '1.0',
    type: 'api.call',
    source: 'bench',
    id: `bench-${i}`,
    time: new Date(Date.UTC(2026, 0, 15) + i).toISOString(),
    subject: `tpp-${i % SUBJECTS}`,
    datacontenttype: 'application/json',
    data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 12, cost: 1, decision: 'debited' },
  });

/** Produces events 0 … total−1 (key = subject) with the keyed idempotent producer; returns events/s. */
export const produceEvents = async (kafka: KafkaClient, topic: string, total: number): Promise<number> => {
  const producer = kafka.producer();
  const started = performance.now();
  for (let from = 0; from < total; from += 2_000) {
    const n = Math.min(2_000, total - from);
    await producer.send(topic, Array.from({ length: n }, (_, k) => ({ key: `tpp-${(from + k) % SUBJECTS}`, value: eventJson(from + k) })));
  }
  const rate = total / ((performance.now() - started) / 1000);
  await producer.close();
  return rate;
};

export const storedEvents = async (ch: ClickHouseClient): Promise<number> =>
  Number((await (await ch.query({ query: 'SELECT count() AS n FROM events', format: 'JSONEachRow' })).json<{ n: string | number }>())[0]?.n);

/** Runs the meter-sink over the topic until ClickHouse holds `total` events; returns events/s. */
export const sinkRate = async (kafka: KafkaClient, ch: ClickHouseClient, topic: string, total: number): Promise<number> => {
  const sink = new KafkaMeterSink({ kafka, clickhouse: ch, topic, groupId: 'bench-sink', batchSize: BATCH, batchWaitMs: 250, logger: createLogger('bench', 'warn') });
  const started = performance.now();
  await sink.start();
  await waitFor(async () => (await storedEvents(ch)) >= total, { timeoutMs: 900_000, intervalMs: 100, what: 'the sink to store every event' });
  const rate = total / ((performance.now() - started) / 1000);
  await sink.stop();
  return rate;
};
