import { Admin, findErrorBy, ListOffsetTimestamps } from '@platformatic/kafka';

export const deadLetterTopicOf = (topic: string) => `${topic}.dlq`;

/** The offsets of one partition: `start` is its first readable offset, `end` the next offset to be written. */
export interface PartitionRange {
  partition: number;
  start: bigint;
  end: bigint;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const partitionCount = async (admin: Admin, topic: string): Promise<number> => {
  const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
  const count = metadata.topics.get(topic)?.partitionsCount;
  if (count === undefined) throw new Error(`topic ${topic} does not exist`);
  return count;
};

/** The offsets `timestamp` (or LATEST/EARLIEST) gives each partition of `topic`. */
const listOffsets = async (admin: Admin, topic: string, timestamp: bigint): Promise<Map<number, bigint>> => {
  const count = await partitionCount(admin, topic);
  const partitions = Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp }));
  const [listed] = await admin.listOffsets({ topics: [{ name: topic, partitions }] });
  return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, p.offset]));
};

/**
 * Creates the topic (with `partitions`) and its dead-letter topic (one partition) when missing,
 * and waits until every partition has a leader. Existing topics are left as they are; a topic
 * created meanwhile by another service is not an error.
 */
export const ensureTopics = async (admin: Admin, topic: string, partitions: number): Promise<void> => {
  const wanted = [
    { topic, partitions },
    { topic: deadLetterTopicOf(topic), partitions: 1 },
  ];
  const existing = new Set(await admin.listTopics());
  const missing = wanted.filter((t) => !existing.has(t.topic));
  for (const t of missing) {
    try {
      await admin.createTopics({ topics: [t] });
    } catch (err) {
      if (!(err instanceof Error) || !findErrorBy(err, 'apiId', 'TOPIC_ALREADY_EXISTS')) throw err;
    }
  }
  if (missing.length === 0) return;
  const names = wanted.map((t) => t.topic);
  for (let attempt = 0; ; attempt++) {
    const metadata = await admin.metadata({ topics: names, forceUpdate: true });
    const led = names.every((n) => {
      const t = metadata.topics.get(n);
      return t !== undefined && t.partitions.length === t.partitionsCount && t.partitions.every((p) => p.leader >= 0);
    });
    if (led) return;
    if (attempt >= 100) throw new Error(`the partitions of ${names.join(', ')} have no leader after 10 s`);
    await pause(100);
  }
};

/** Each partition's first readable offset and end offset (the offset the next record gets). */
export const endOffsets = async (admin: Admin, topic: string): Promise<PartitionRange[]> => {
  const [starts, ends] = await Promise.all([listOffsets(admin, topic, ListOffsetTimestamps.EARLIEST), listOffsets(admin, topic, ListOffsetTimestamps.LATEST)]);
  return [...ends]
    .map(([partition, end]) => ({ partition, start: starts.get(partition) ?? 0n, end }))
    .sort((a, b) => a.partition - b.partition);
};

/**
 * The offsets `groupId` committed on `topic`: per partition, the next offset it will read.
 * Partitions where it committed nothing are absent.
 */
export const committedOffsets = async (admin: Admin, groupId: string, topic: string): Promise<Map<number, bigint>> => {
  const count = await partitionCount(admin, topic);
  const [group] = await admin.listConsumerGroupOffsets({
    groups: [{ groupId, topics: [{ name: topic, partitionIndexes: Array.from({ length: count }, (_, i) => i) }] }],
  });
  const committed = new Map<number, bigint>();
  for (const t of group?.topics ?? []) {
    if (t.name !== topic) continue;
    for (const p of t.partitions) if (p.committedOffset >= 0n) committed.set(p.partitionIndex, p.committedOffset);
  }
  return committed;
};

/**
 * Per partition, the offset of the first record with a timestamp at or after `timeMs`; the end
 * offset where there is none.
 */
export const offsetsAt = async (admin: Admin, topic: string, timeMs: number): Promise<Map<number, bigint>> => {
  const [at, ends] = await Promise.all([listOffsets(admin, topic, BigInt(timeMs)), listOffsets(admin, topic, ListOffsetTimestamps.LATEST)]);
  return new Map([...ends].map(([partition, end]) => {
    const offset = at.get(partition);
    return [partition, offset === undefined || offset < 0n ? end : offset];
  }));
};

/** Lists the topics and reads a group's offsets: the second waits for the group coordinator. */
export const probe = async (admin: Admin): Promise<void> => {
  await admin.listTopics();
  await admin.listConsumerGroupOffsets({ groups: ['tollgate-probe'] });
};

/** Deletes consumer groups (a group that does not exist is not an error). */
export const deleteGroups = async (admin: Admin, groupIds: string[]): Promise<void> => {
  try {
    await admin.deleteGroups({ groups: groupIds });
  } catch (err) {
    if (!(err instanceof Error) || !findErrorBy(err, 'apiId', 'GROUP_ID_NOT_FOUND')) throw err;
  }
};
