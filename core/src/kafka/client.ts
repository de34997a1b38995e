import { Kafka, logLevel, type Admin } from 'kafkajs';
import { deadLetterTopicOf } from './kafka-admin.ts';

/**
 * The one place that knows the Kafka client library: replacing kafkajs touches this folder only.
 * Everything else speaks in topics, keys and byte values.
 */
export const openKafka = (brokers: string[], clientId: string): Kafka =>
  new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
  });

/** Creates the events topic and its dead-letter topic when missing; existing topics are left as they are. */
export const ensureTopics = async (kafka: Kafka, topic: string, numPartitions: number): Promise<void> => {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [topic, deadLetterTopicOf(topic)].filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({ topic: t, numPartitions: t === topic ? numPartitions : 1 })),
      });
    }
  } finally {
    await admin.disconnect();
  }
};
