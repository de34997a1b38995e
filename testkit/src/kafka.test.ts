import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient, type PartitionBatch } from '@tollgate/core/kafka';
import { startKafka, type KafkaBroker } from './kafka.ts';
import { waitFor } from './wait-for.ts';

const TOPIC = 'harness-events';
const COUNT = 1_000;

/** Reads the topic with a fresh member of `groupId`, committing as it goes, until `count` records arrived; returns their values. */
const consumeAll = async (kafka: KafkaClient, groupId: string, count: number): Promise<string[]> => {
  const values: string[] = [];
  const group = kafka.consumerGroup({
    groupId,
    topic: TOPIC,
    sessionTimeoutMs: 10_000,
    maxWaitMs: 100,
    onBatch: async (batch: PartitionBatch) => {
      values.push(...batch.records.map((r) => String(r.value)));
      return group.commit(batch);
    },
  });
  await group.start();
  try {
    await waitFor(() => values.length >= count, { timeoutMs: 30_000, what: `${count} records read by ${groupId}` });
  } finally {
    await group.stop();
  }
  return values;
};

const highWatermarks = async (kafka: KafkaClient): Promise<bigint[]> => (await kafka.endOffsets(TOPIC)).map((p) => p.end);

describe('Kafka test harness', () => {
  let broker: KafkaBroker;
  let kafka: KafkaClient;

  beforeAll(async () => {
    broker = await startKafka({ numPartitions: 3 });
    kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'harness-test' });
  });
  afterAll(async () => {
    await kafka?.close();
    await broker?.close();
  });

  it('keeps produced and committed data across a broker restart', async () => {
    await kafka.ensureTopics(TOPIC, 3);
    const producer = kafka.producer();
    for (let batch = 0; batch < 10; batch++) {
      await producer.send(
        TOPIC,
        Array.from({ length: COUNT / 10 }, (_, i) => {
          const n = batch * (COUNT / 10) + i;
          return { key: `tpp-${n % 17}`, value: `event-${n}` };
        }),
      );
    }
    await producer.close();

    const before = await highWatermarks(kafka);
    expect(before).toHaveLength(3);
    expect(before.every((n) => n > 0n)).toBe(true);
    expect(before.reduce((a, b) => a + b, 0n)).toBe(BigInt(COUNT));
    expect(new Set(await consumeAll(kafka, 'harness-group', COUNT)).size).toBe(COUNT);
    expect([...(await kafka.committedOffsets('harness-group', TOPIC)).entries()].sort(([a], [b]) => a - b).map(([, o]) => o)).toEqual(before);
    await kafka.close(); // its admin connection reopens on the next call

    await broker.stop();
    const down = new KafkaClient({ brokers: [broker.brokers], clientId: 'down', adminRetry: { retries: 0, retryDelayMs: 100, connectTimeoutMs: 1_000, requestTimeoutMs: 1_000 } });
    await expect(down.probe()).rejects.toThrow();
    await down.close();
    await broker.start();

    expect(await highWatermarks(kafka)).toEqual(before);
    // The group's committed offsets survived too: it is at the end of every partition.
    const committed = await kafka.committedOffsets('harness-group', TOPIC);
    expect([...committed.entries()].sort(([a], [b]) => a - b).map(([, o]) => o)).toEqual(before);
    // And every record can be read again by a new group.
    expect(new Set(await consumeAll(kafka, 'harness-group-after-restart', COUNT)).size).toBe(COUNT);
  });
});
