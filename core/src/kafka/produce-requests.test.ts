import { describe, expect, it } from 'vitest';
import { cutRequests } from './produce-requests.ts';

interface Item {
  n: number;
  partition: number;
  bytes: number;
}
const items = (count: number, partitions: number, bytes = 10): Item[] => Array.from({ length: count }, (_, n) => ({ n, partition: n % partitions, bytes }));
const cut = (list: Item[], maxRecords: number, maxPartitionBytes: number) => [
  ...cutRequests(
    list,
    (i) => i.partition,
    (i) => i.bytes,
    { maxRecords, maxPartitionBytes },
  ),
];

describe('cutRequests', () => {
  it('keeps every item once, in order, in requests of at most maxRecords', () => {
    const requests = cut(items(1_234, 6), 500, Number.POSITIVE_INFINITY);
    expect(requests.map((r) => r.length)).toEqual([500, 500, 234]);
    expect(requests.flat().map((i) => i.n)).toEqual(items(1_234, 6).map((i) => i.n));
  });

  it('starts a new request before a partition would take more than maxPartitionBytes', () => {
    // 3 partitions, 100 bytes each: a partition holds at most 4 items (400 of 450 bytes).
    const requests = cut(items(30, 3, 100), 1_000, 450);
    expect(requests.map((r) => r.length)).toEqual([12, 12, 6]);
    for (const r of requests) {
      for (const p of [0, 1, 2]) expect(r.filter((i) => i.partition === p).reduce((b, i) => b + i.bytes, 0)).toBeLessThanOrEqual(450);
    }
  });

  it('sends an item larger than the partition bound alone, and nothing when there is nothing', () => {
    const list = [{ n: 0, partition: 0, bytes: 10 }, { n: 1, partition: 0, bytes: 5_000 }, { n: 2, partition: 0, bytes: 10 }];
    expect(cut(list, 100, 1_000).map((r) => r.map((i) => i.n))).toEqual([[0], [1], [2]]);
    expect(cut([], 100, 1_000)).toEqual([]);
  });
});
