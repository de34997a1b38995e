import type { Consumer } from '@platformatic/kafka';

/** What one fetch request answers (the library does not export the type by name). */
export type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;

/** One record read from a partition. */
export interface IncomingRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly (readonly [Buffer | null, Buffer | null])[];
  offset: bigint;
  /** Epoch ms set by the producer (or the broker). */
  timestamp: number;
}

/** Consecutive records of one partition, handed to the group's handler as one unit. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  /**
   * The group generation in which the batch was fetched: the fence token of its writes
   * (`ConsumerGroup.owns(partition, generation)` says whether this member still holds it).
   */
  generation: number;
  /** Leader epoch of the records, sent with the commit (KIP-320). */
  leaderEpoch: number;
  records: IncomingRecord[];
  /** The offset after the batch: committing it says "everything before is stored". */
  nextOffset: bigint;
}

/** Bit 5 of a record batch's attributes: a transaction marker, not data. */
const CONTROL_BATCH = 1 << 5;

/**
 * Cuts the records of a fetch response into batches of at most `maxRecords` per partition,
 * skipping records before each partition's fetch position (a response starts at the record
 * batch holding that offset) and transaction markers. `next` is each partition's new position.
 */
export const toPartitionBatches = (
  response: FetchResponse,
  topic: string,
  positions: ReadonlyMap<number, bigint>,
  generation: number,
  maxRecords: number,
): { batches: PartitionBatch[]; next: Map<number, bigint> } => {
  const batches: PartitionBatch[] = [];
  const next = new Map<number, bigint>();
  for (const t of response.responses) {
    for (const p of t.partitions) {
      const from = positions.get(p.partitionIndex);
      if (from === undefined || !p.records || p.records.length === 0) continue;
      let position = from;
      let current: PartitionBatch | undefined;
      for (const recordBatch of p.records) {
        const end = recordBatch.firstOffset + BigInt(recordBatch.lastOffsetDelta) + 1n;
        if (end <= position) continue;
        if ((recordBatch.attributes & CONTROL_BATCH) === 0) {
          const firstTimestamp = Number(recordBatch.firstTimestamp);
          for (const r of recordBatch.records) {
            const offset = recordBatch.firstOffset + BigInt(r.offsetDelta);
            if (offset < position) continue;
            if (!current || current.records.length >= maxRecords) {
              if (current) current.nextOffset = (current.records.at(-1)?.offset ?? offset) + 1n;
              current = { topic, partition: p.partitionIndex, generation, leaderEpoch: recordBatch.partitionLeaderEpoch, records: [], nextOffset: offset };
              batches.push(current);
            }
            current.records.push({ key: r.key, value: r.value, headers: r.headers, offset, timestamp: firstTimestamp + Number(r.timestampDelta) });
          }
        }
        position = end;
      }
      // Trailing markers or compacted gaps: the last batch covers them, so its commit moves past.
      if (current) current.nextOffset = position;
      if (position > from) next.set(p.partitionIndex, position);
    }
  }
  return { batches, next };
};
