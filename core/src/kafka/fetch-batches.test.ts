import { describe, expect, it } from 'vitest';
import { toPartitionBatches, type FetchResponse } from './fetch-batches.ts';

const record = (offsetDelta: number, value: string) => ({
  length: 0,
  attributes: 0,
  timestampDelta: BigInt(offsetDelta),
  offsetDelta,
  key: Buffer.from('k'),
  value: Buffer.from(value),
  headers: [],
});
const recordBatch = (firstOffset: number, values: string[], attributes = 0) => ({
  firstOffset: BigInt(firstOffset),
  length: 0,
  partitionLeaderEpoch: 7,
  magic: 2,
  crc: 0,
  attributes,
  lastOffsetDelta: values.length - 1,
  firstTimestamp: 1_000n,
  maxTimestamp: 1_000n,
  producerId: 1n,
  producerEpoch: 0,
  firstSequence: 0,
  records: values.map((v, i) => record(i, v)),
});
const response = (partitions: { partitionIndex: number; records: ReturnType<typeof recordBatch>[] }[]): FetchResponse => ({
  throttleTimeMs: 0,
  errorCode: 0,
  sessionId: 0,
  responses: [
    {
      topicId: 'id',
      partitions: partitions.map((p) => ({ ...p, errorCode: 0, highWatermark: 0n, lastStableOffset: 0n, logStartOffset: 0n, abortedTransactions: null, preferredReadReplica: -1 })),
    },
  ],
});

describe('toPartitionBatches', () => {
  it('skips what lies before the fetch position, cuts at maxRecords, and moves past trailing markers', () => {
    const r = response([
      // The response starts at the record batch holding offset 12: 10 and 11 were read before.
      { partitionIndex: 0, records: [recordBatch(10, ['a', 'b', 'c', 'd', 'e']), recordBatch(15, ['f']), recordBatch(16, ['marker'], 1 << 5)] },
      { partitionIndex: 3, records: [recordBatch(0, ['x'])] },
      { partitionIndex: 4, records: [recordBatch(0, ['not asked for'])] },
    ]);
    const { batches, next } = toPartitionBatches(r, 't', new Map([[0, 12n], [3, 0n]]), 9, 2);
    expect(batches.map((b) => [b.partition, b.records.map((x) => `${x.offset}:${String(x.value)}`), b.nextOffset, b.generation])).toEqual([
      [0, ['12:c', '13:d'], 14n, 9],
      [0, ['14:e', '15:f'], 17n, 9],
      [3, ['0:x'], 1n, 9],
    ]);
    expect(batches[0]?.leaderEpoch).toBe(7);
    expect(batches[0]?.records[0]?.timestamp).toBe(1_002);
    expect([...next]).toEqual([[0, 17n], [3, 1n]]);
  });

  it('gives no batch and no new position for an empty partition or one already read', () => {
    const r = response([{ partitionIndex: 0, records: [recordBatch(0, ['a'])] }, { partitionIndex: 1, records: [] }]);
    const { batches, next } = toPartitionBatches(r, 't', new Map([[0, 1n], [1, 0n]]), 1, 10);
    expect(batches).toEqual([]);
    expect(next.size).toBe(0);
  });
});
