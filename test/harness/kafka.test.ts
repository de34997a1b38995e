import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { startKafka, type KafkaBroker } from './kafka.ts';

const TOPIC = 'harness-events';
const COUNT = 1_000;

/** Reads the topic with a fresh consumer in `groupId` until `count` messages arrived; returns their values. */
const consumeAll = async (kafka: Kafka, groupId: string, count: number): Promise<string[]> => {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const values: string[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            values.push(message.value?.toString() ?? '');
            if (values.length >= count) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    // Disconnecting commits the offsets of what was consumed.
    await consumer.disconnect();
  }
  return values;
};

const highWatermarks = async (admin: Admin): Promise<number[]> =>
  (await admin.fetchTopicOffsets(TOPIC)).sort((a, b) => a.partition - b.partition).map((p) => Number(p.high));

describe('Kafka test harness', () => {
  let broker: KafkaBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await startKafka({ numPartitions: 3 });
    kafka = new Kafka({ clientId: 'harness-test', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('keeps produced and committed data across a broker restart', async () => {
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }], waitForLeaders: true })).toBe(true);

    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    for (let batch = 0; batch < 10; batch++) {
      await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: Array.from({ length: COUNT / 10 }, (_, i) => {
          const n = batch * (COUNT / 10) + i;
          return { key: `tpp-${n % 17}`, value: `event-${n}` };
        }),
      });
    }
    await producer.disconnect();

    const before = await highWatermarks(admin);
    expect(before).toHaveLength(3);
    expect(before.every((n) => n > 0)).toBe(true);
    expect(before.reduce((a, b) => a + b, 0)).toBe(COUNT);

    const consumed = await consumeAll(kafka, 'harness-group', COUNT);
    expect(new Set(consumed).size).toBe(COUNT);
    await admin.disconnect();

    await broker.stop();
    await expect(
      new Kafka({ clientId: 'down', brokers: [broker.brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
        .admin()
        .connect(),
    ).rejects.toThrow();
    await broker.start();

    const after = kafka.admin();
    await after.connect();
    try {
      expect(await after.listTopics()).toContain(TOPIC);
      expect(await highWatermarks(after)).toEqual(before);
      // The group's committed offsets survived too: it is at the end of every partition.
      const [committed] = await after.fetchOffsets({ groupId: 'harness-group', topics: [TOPIC] });
      const offsets = (committed?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
      expect(offsets).toEqual(before);
    } finally {
      await after.disconnect();
    }
    // And every message can be read again by a new group.
    expect(new Set(await consumeAll(kafka, 'harness-group-after-restart', COUNT)).size).toBe(COUNT);
  });
});
