import type { ClickHouseClient } from '@clickhouse/client';
import { writeEventsOnce, type StoredEvent, type WriteResult } from '@tollgate/core';

/** Where in Kafka a write comes from, and the fence to check just before it. */
export interface WriteContext {
  topic: string;
  partition: number;
  /** The consumer-group generation the batch was fetched in. */
  generation: number;
  /** Offset of the batch's first record, and the offset after its last. */
  firstOffset: bigint;
  nextOffset: bigint;
  /** True while this sink still owns the partition in that generation (cheap, local). */
  stillOwner: () => boolean;
}

/**
 * The sink's write step: stores the valid events of one batch, each (source, id) once. The
 * sink calls it once per batch (again on retry) and commits the batch's offset only after it
 * resolved. Kept apart so that the writer (deduplication, fencing) can change without the
 * consumer plumbing.
 */
export type WriteStep = (clickhouse: ClickHouseClient, events: StoredEvent[], context: WriteContext) => Promise<WriteResult>;

export const writeOnce: WriteStep = (clickhouse, events) => writeEventsOnce(clickhouse, events);
