import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterTopicOf, KafkaClient, partitionOf, type ConsumerGroup, type PartitionBatch } from '@tollgate/core/kafka';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { waitFor } from '@tollgate/testkit/wait-for';

let broker: KafkaBroker;
let kafka: KafkaClient;
beforeAll(async () => {
  broker = await startKafka();
  kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'kafka-client-test' });
}, 120_000);
afterAll(async () => {
  await kafka?.close();
  await broker?.close();
});

const SUBJECTS = 40;
const records = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `tpp-${(from + i) % SUBJECTS}`, value: JSON.stringify({ n: from + i }) }));
const n = (r: { value: Buffer | null }) => (JSON.parse(String(r.value)) as { n: number }).n;

/** A group member that records every batch it is handed, and commits it if `commit` says so. */
const member = (groupId: string, topic: string, handle: (b: PartitionBatch, g: ConsumerGroup) => Promise<boolean>) => {
  const seen: PartitionBatch[] = [];
  const group: ConsumerGroup = kafka.consumerGroup({
    groupId,
    topic,
    sessionTimeoutMs: 6_000,
    maxWaitMs: 100,
    maxBatchRecords: 150,
    onBatch: async (b) => {
      seen.push(b);
      return handle(b, group);
    },
  });
  return { group, seen };
};

describe('KafkaClient against a real broker', () => {
  it('creates the topics once, sends keyed records to the partition of their key, and reads them back per partition in order', async () => {
    const topic = `kc-${randomUUID()}`;
    await kafka.ensureTopics(topic, 3);
    await kafka.ensureTopics(topic, 3); // existing topics are left alone
    expect((await kafka.endOffsets(topic)).map((p) => [p.partition, p.start, p.end])).toEqual([[0, 0n, 0n], [1, 0n, 0n], [2, 0n, 0n]]);
    expect(await kafka.endOffsets(deadLetterTopicOf(topic))).toHaveLength(1);

    const producer = kafka.producer({ headers: { 'content-type': 'application/json' } });
    const before = Date.now();
    await producer.send(topic, records(0, 1_000));
    await producer.send(topic, records(1_000, 1_000));
    await producer.close();
    const ends = await kafka.endOffsets(topic);
    expect(ends.reduce((sum, p) => sum + Number(p.end), 0)).toBe(2_000);

    const { group, seen } = member(`g-${topic}`, topic, (b, g) => g.commit(b));
    await group.start();
    try {
      await waitFor(() => seen.reduce((sum, b) => sum + b.records.length, 0) >= 2_000, { timeoutMs: 30_000, what: '2,000 records read' });
      await waitFor(async () => {
        const committed = await kafka.committedOffsets(`g-${topic}`, topic);
        return ends.every((e) => committed.get(e.partition) === e.end);
      }, { timeoutMs: 30_000, what: 'every batch committed' });
    } finally {
      await group.stop();
    }
    const byPartition = new Map<number, number[]>();
    for (const b of seen) {
      expect(b.records.length).toBeLessThanOrEqual(150);
      for (const r of b.records) {
        // Each subject is on the partition Java's partitioner gives it, and its records are in send order.
        expect(b.partition).toBe(partitionOf(String(r.key), 3));
        expect(r.headers.map(([k, v]) => [String(k), String(v)])).toEqual([['content-type', 'application/json']]);
        expect(r.timestamp).toBeGreaterThanOrEqual(before - 1_000);
        byPartition.set(b.partition, [...(byPartition.get(b.partition) ?? []), n(r)]);
      }
    }
    const all = [...byPartition.values()].flat();
    expect(new Set(all).size).toBe(2_000);
    for (const ns of byPartition.values()) expect(ns).toEqual([...ns].sort((a, b) => a - b));
    // Offsets by time: everything was written after `before`, nothing after now.
    const atStart = await kafka.offsetsAt(topic, before - 60_000);
    const atEnd = await kafka.offsetsAt(topic, Date.now() + 60_000);
    expect([...atStart.values()]).toEqual([0n, 0n, 0n]);
    expect([...atEnd].sort(([a], [b]) => a - b).map(([, o]) => o)).toEqual(ends.map((e) => e.end));
  });

  it('reads a partition again from a batch its handler did not finish, so nothing is skipped', async () => {
    const topic = `kc-${randomUUID()}`;
    await kafka.ensureTopics(topic, 1);
    const producer = kafka.producer();
    await producer.send(topic, records(0, 600));
    await producer.close();
    let refusals = 2;
    const { group, seen } = member(`g-${topic}`, topic, async (b, g) => {
      // The second batch is refused twice (a failed write, then a throw), then taken.
      if (b.records[0]?.offset === 150n && refusals-- > 0) {
        if (refusals === 0) throw new Error('write failed');
        return false;
      }
      return g.commit(b);
    });
    await group.start();
    try {
      await waitFor(async () => (await kafka.committedOffsets(`g-${topic}`, topic)).get(0) === 600n, { timeoutMs: 30_000, what: 'all committed' });
    } finally {
      await group.stop();
    }
    const firsts = seen.map((b) => Number(b.records[0]?.offset));
    expect(firsts.filter((o) => o === 150)).toHaveLength(3);
    // Every offset was handed to a batch that was taken, in order.
    const taken = seen.filter((b, i) => !(b.records[0]?.offset === 150n && i < firsts.lastIndexOf(150)));
    expect(taken.flatMap((b) => b.records.map((r) => Number(r.offset)))).toEqual(Array.from({ length: 600 }, (_, i) => i));
  });

  it('gives a second member some partitions in a new generation; batches of a moved partition are not the first member’s any more', async () => {
    const topic = `kc-${randomUUID()}`;
    const groupId = `g-${topic}`;
    await kafka.ensureTopics(topic, 4);
    const producer = kafka.producer();
    await producer.send(topic, records(0, 400));
    const a = member(groupId, topic, (b, g) => g.commit(b));
    await a.group.start();
    await waitFor(() => a.seen.length > 0, { timeoutMs: 30_000, what: 'first member reading' });
    const firstGeneration = a.seen[0]?.generation ?? -1;
    expect(a.group.partitions).toEqual([0, 1, 2, 3]);
    expect([0, 1, 2, 3].every((p) => a.group.owns(p, firstGeneration))).toBe(true);

    const b = member(groupId, topic, (batch, g) => g.commit(batch));
    await b.group.start();
    try {
      await waitFor(() => a.group.partitions.length === 2 && b.group.partitions.length === 2, { timeoutMs: 30_000, what: 'partitions split' });
      const moved = b.group.partitions;
      const kept = a.group.partitions;
      expect([...moved, ...kept].sort()).toEqual([0, 1, 2, 3]);
      // The first member's batches of generation 1: a moved partition is fenced, a kept one is not.
      expect(moved.some((p) => a.group.owns(p, firstGeneration))).toBe(false);
      expect(kept.every((p) => a.group.owns(p, firstGeneration))).toBe(true);
      expect(await a.group.commit({ topic, partition: moved[0] ?? 0, generation: firstGeneration, leaderEpoch: -1, records: [], nextOffset: 1_000n })).toBe(false);

      await producer.send(topic, records(400, 400));
      const ends = await kafka.endOffsets(topic);
      await waitFor(async () => {
        const committed = await kafka.committedOffsets(groupId, topic);
        return ends.every((e) => committed.get(e.partition) === e.end);
      }, { timeoutMs: 30_000, what: 'both members committed to the end' });
      const readByB = new Set(b.seen.map((x) => x.partition));
      expect([...readByB].every((p) => moved.includes(p))).toBe(true);
    } finally {
      await producer.close();
      await b.group.stop();
      await a.group.stop();
    }
  });

  // Last: it restarts the broker.
  it('says it is not fetching while the broker is stopped, and reads on from where it was once it is back', async () => {
    const topic = `kc-${randomUUID()}`;
    const groupId = `g-${topic}`;
    await kafka.ensureTopics(topic, 2);
    const producer = kafka.producer();
    await producer.send(topic, records(0, 300));
    const { group, seen } = member(groupId, topic, (b, g) => g.commit(b));
    await group.start();
    try {
      await waitFor(() => seen.reduce((sum, b) => sum + b.records.length, 0) >= 300 && group.fetching, { timeoutMs: 30_000, what: 'first records read' });
      await broker.stop();
      await waitFor(() => !group.fetching, { timeoutMs: 30_000, what: 'the group to report that it cannot fetch' });
      await broker.start();
      await producer.send(topic, records(300, 300));
      await waitFor(async () => {
        const committed = await kafka.committedOffsets(groupId, topic);
        return [...committed.values()].reduce((sum, o) => sum + Number(o), 0) === 600 && group.fetching;
      }, { timeoutMs: 60_000, what: 'the rest read and committed after the restart' });
      expect(new Set(seen.flatMap((b) => b.records.map(n))).size).toBe(600);
    } finally {
      await producer.close();
      await group.stop();
    }
  }, 120_000);
});
