import { randomUUID } from 'node:crypto';
import type { IncomingRecord, KafkaClient } from '@tollgate/core/kafka';
import { waitFor } from './wait-for.ts';

/**
 * Every record of `topic` from the beginning, read by a fresh consumer group, until `enough`
 * says the records so far suffice (or `timeoutMs` passes). Records come per partition in offset
 * order; partitions interleave.
 */
export const readTopic = async (
  kafka: KafkaClient,
  topic: string,
  enough: (records: IncomingRecord[]) => boolean,
  timeoutMs = 60_000,
): Promise<IncomingRecord[]> => {
  const records: IncomingRecord[] = [];
  const group = kafka.consumerGroup({
    groupId: `reader-${randomUUID()}`,
    topic,
    maxWaitMs: 100,
    onBatch: async (batch) => {
      records.push(...batch.records);
      return true;
    },
  });
  await group.start();
  try {
    await waitFor(() => enough(records), { timeoutMs, what: `the expected records on ${topic}` });
    return records;
  } finally {
    await group.stop();
  }
};

/** A record's header value by name, as text (undefined when absent). */
export const header = (record: IncomingRecord, name: string): string | undefined => {
  const found = record.headers.find(([k]) => k?.toString() === name);
  return found?.[1]?.toString();
};
