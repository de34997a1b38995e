import type { ClickHouseClient } from '@clickhouse/client';
import { EventWriter, type Logger, type StoredEvent, type WriteHealth, type WriteResult } from '@tollgate/core';

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
 * The sink's write step: stores the valid events of one batch, each (source, id) once, and
 * answers the events ClickHouse refused on their own (the sink dead-letters them). The sink
 * calls it once per batch (again on retry) and commits the batch's offset only after it
 * resolved. Kept apart so that the writer (deduplication, fencing) can change without the
 * consumer plumbing.
 */
export interface WriteStep {
  write(events: StoredEvent[], context: WriteContext): Promise<WriteResult>;
  /** Failing, with ClickHouse's answer, from a failed write until one succeeds. */
  readonly health: WriteHealth;
}

export interface WriteStepOptions {
  clickhouse: ClickHouseClient;
  logger: Logger;
  dedupeHorizonDays?: number | undefined;
}

/** The write step through the shared event writer. */
export const createWriteStep = ({ clickhouse, logger, dedupeHorizonDays }: WriteStepOptions): WriteStep => {
  const writer = new EventWriter({ clickhouse, logger, writer: 'sink', dedupeHorizonDays });
  return { health: writer.health, write: (events) => writer.write(events) };
};
