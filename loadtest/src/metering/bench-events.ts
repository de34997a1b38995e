import type { ClickHouseClient } from '@clickhouse/client';
import { createLogger } from '@tollgate/core';
import { ENV } from '@tollgate/core/config';
import type { KafkaClient } from '@tollgate/core/kafka';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { waitFor } from '@tollgate/testkit/wait-for';

/** The data of the metering benchmarks: the same events, topic layout and sink settings in each. */
export const PARTITIONS = 6;
/** The sink's batch size: SINK_BATCH_SIZE's default. */
export const BATCH = ENV.SINK_BATCH_SIZE.fallback;
const SUBJECTS = 1_000;

/** The first event's time: an hour ago, so that every event is inside the acceptance window. */
const T0 = Date.now() - 3_600_000;
/** The time of event `i`. */
export const eventTimeMs = (i: number): number => T0 + i;
const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');

/**
 * The id of event `i`, shaped as the gateway's (UUIDv7: the millisecond of event `i`, then bits
 * of `i`), so the benchmark's key lookups fall where the gateway's do; the same `i` gives the
 * same id, so a run can send every event twice.
 */
export const eventId = (i: number): string => {
  const ms = hex(eventTimeMs(i), 12);
  const tail = hex(i, 12);
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${hex(i % 4096, 3)}-8${hex(Math.floor(i / 4096) % 4096, 3)}-${tail}`;
};

/** Event `i`: an api.call of one of SUBJECTS subjects, a millisecond after event `i - 1`. */
export const eventJson = (i: number): string =>
  JSON.stringify({
    specversion: '1.0',
    type: 'api.call',
    source: 'bench',
    id: eventId(i),
    time: new Date(eventTimeMs(i)).toISOString(),
    subject: `tpp-${i % SUBJECTS}`,
    datacontenttype: 'application/json',
    data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 12, cost: 1, decision: 'debited' },
  });

/**
 * Produces events 0 … total−1 (key = subject) with the keyed idempotent producer, `copies` times
 * over (the whole sequence again: each copy's lookups find every key stored); returns messages/s.
 */
export const produceEvents = async (kafka: KafkaClient, topic: string, total: number, copies = 1): Promise<number> => {
  const producer = kafka.producer();
  const started = performance.now();
  for (let copy = 0; copy < copies; copy++) {
    for (let from = 0; from < total; from += 2_000) {
      const n = Math.min(2_000, total - from);
      await producer.send(topic, Array.from({ length: n }, (_, k) => ({ key: `tpp-${(from + k) % SUBJECTS}`, value: eventJson(from + k) })));
    }
  }
  const rate = (copies * total) / ((performance.now() - started) / 1000);
  await producer.close();
  return rate;
};

export const storedEvents = async (ch: ClickHouseClient): Promise<number> =>
  Number((await (await ch.query({ query: 'SELECT count() AS n FROM events', format: 'JSONEachRow' })).json<{ n: string | number }>())[0]?.n);

/**
 * Runs the meter-sink over the topic until ClickHouse holds `total` events and the sink has
 * committed every message (`messages`: more than `total` when events come twice); returns messages/s.
 */
export const sinkRate = async (kafka: KafkaClient, ch: ClickHouseClient, topic: string, total: number, messages = total): Promise<number> => {
  const groupId = `bench-sink-${topic}`;
  const sink = new KafkaMeterSink({ kafka, clickhouse: ch, topic, groupId, batchSize: BATCH, batchWaitMs: 250, logger: createLogger('bench', 'warn') });
  const started = performance.now();
  await sink.start();
  await waitFor(async () => (await storedEvents(ch)) >= total, { timeoutMs: 900_000, intervalMs: 100, what: 'the sink to store every event' });
  if (messages > total) {
    await waitFor(
      async () => {
        const [ends, committed] = await Promise.all([kafka.endOffsets(topic), kafka.committedOffsets(groupId, topic)]);
        return ends.every((e) => committed.get(e.partition) === e.end);
      },
      { timeoutMs: 900_000, intervalMs: 100, what: 'the sink to take every message' },
    );
  }
  const rate = messages / ((performance.now() - started) / 1000);
  await sink.stop();
  return rate;
};
