import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '@tollgate/core';
import type { StoredEvent } from '@tollgate/core/events';
import { claimWriteFence, EventWriter, WriteFencedError, type WriteFence, type WriteHealth, type WriteResult } from '@tollgate/core/clickhouse';

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

/** The partition is no longer this sink's (it moved while the sink claimed it): store nothing, commit nothing. */
export class PartitionLostError extends Error {
  constructor(topic: string, partition: number) {
    super(`${topic}/${partition} moved to another sink while this one claimed it`);
    this.name = 'PartitionLostError';
  }
}

/** True for the failures that mean "another sink owns this partition now", not "ClickHouse failed". */
export const isOwnershipLost = (err: unknown): boolean => err instanceof WriteFencedError || err instanceof PartitionLostError;

/**
 * The sink's write step: stores the valid events of one batch, each (source, id) once, and
 * answers the events ClickHouse refused on their own (the sink dead-letters them). The sink
 * calls it once per batch (again on retry) and commits the batch's offset only after it
 * resolved. Kept apart so that the writer (deduplication, fencing) can change without the
 * consumer plumbing.
 */
export interface WriteStep {
  /** Throws a failure for which `isOwnershipLost` is true when another sink owns the partition now. */
  write(events: StoredEvent[], context: WriteContext): Promise<WriteResult>;
  /** Failing, with ClickHouse's answer, from a failed write until one succeeds. */
  readonly health: WriteHealth;
}

export interface WriteStepOptions {
  clickhouse: ClickHouseClient;
  logger: Logger;
  dedupeHorizonDays?: number | undefined;
  /** Aborted when the sink stops: a claim waiting for an older writer gives up. */
  stopping?: AbortSignal | undefined;
}

/**
 * The write step through the shared event writer, fenced per partition: the first write of a
 * partition in a generation claims it in ClickHouse (`topic/partition`) and waits until no
 * statement of its previous owner still runs; every write carries the claim, and ClickHouse
 * drops the rows of a superseded one inside the insert (core/src/clickhouse/write-fence.ts has
 * the argument). A sink frozen past its session timeout therefore stores nothing the new owner
 * stores, whenever it wakes up, and gets a fenced write instead.
 */
export const createWriteStep = ({ clickhouse, logger, dedupeHorizonDays, stopping }: WriteStepOptions): WriteStep => {
  const writer = new EventWriter({ clickhouse, logger, writer: 'sink', dedupeHorizonDays });
  const claims = new Map<number, { generation: number; fence: WriteFence }>();

  const claimFor = async (context: WriteContext): Promise<WriteFence> => {
    const held = claims.get(context.partition);
    if (held && held.generation === context.generation) return held.fence;
    const started = performance.now();
    const fence = await claimWriteFence(clickhouse, `${context.topic}/${context.partition}`, {
      signal: stopping,
      onWait: async () => {
        if (!context.stillOwner()) throw new PartitionLostError(context.topic, context.partition);
      },
    });
    claims.set(context.partition, { generation: context.generation, fence });
    logger.info('sink claimed partition', { partition: context.partition, generation: context.generation, waitedMs: Math.round(performance.now() - started) });
    return fence;
  };

  return {
    health: writer.health,
    async write(events, context) {
      if (!context.stillOwner()) throw new PartitionLostError(context.topic, context.partition);
      try {
        return await writer.write(events, { fence: await claimFor(context) });
      } catch (err) {
        // Superseded while this sink still holds the partition (a sink that was paused before it
        // claimed, claiming late): the next write claims again and fences that one out.
        if (err instanceof WriteFencedError) claims.delete(context.partition);
        throw err;
      }
    },
  };
};
