import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { keyedPartitioner } from './keyed-partitioner.ts';

const partitions = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 1, replicas: [1], isr: [1] }));

describe('keyedPartitioner', () => {
  it('chooses the partition Kafka’s default partitioner chooses, for every key and partition count', () => {
    const ours = keyedPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const count of [1, 6, 7]) {
      for (let i = 0; i < 500; i++) {
        const args = { topic: 't', partitionMetadata: partitions(count), message: { key: `tpp-${i}`, value: 'x' } };
        // Twice: the second answer comes from the memo.
        expect(ours(args)).toBe(theirs(args));
        expect(ours(args)).toBe(theirs(args));
      }
    }
  });
});
