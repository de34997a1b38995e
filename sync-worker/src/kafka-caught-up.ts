import { pause as sleep } from '@tollgate/core';
import { SINK_GROUP_ID, type KafkaClient } from '@tollgate/core/kafka';
import type { AwaitMeteringCaughtUp } from './sync-worker.ts';

export interface KafkaCaughtUpOptions {
  kafka: KafkaClient;
  topic: string;
  /** The meter-sink's consumer group. */
  groupId?: string;
  /**
   * Longest a producer holds an event before it is in Kafka: its linger, plus a margin for a
   * send under way. Events held longer (a slow send, Kafka unreachable: spooled) are not waited for.
   */
  producerBoundMs: number;
  /**
   * Waits until every live producer acknowledged the restore (restore-acks.ts): each has
   * delivered the events of the calls it debited before it saw the restore's token, however
   * long their upstream or their send took. Called after the producer bound, by which time a
   * live producer has written its mark again after a wipe.
   */
  producersAcked?: (restoreToken: string, signal: AbortSignal) => Promise<void>;
  pollMs?: number;
}

/**
 * The split deployment's metering path has caught up with `asOfMs` when every event in Kafka
 * as of asOfMs + the producer bound (and, given `producersAcked`, once the producers
 * acknowledged the restore) is stored: the sink group's committed offsets (committed
 * only after ClickHouse took the batch) reach the topic's end offsets taken then.
 */
export const kafkaMeteringCaughtUp =
  ({ kafka, topic, groupId = SINK_GROUP_ID, producerBoundMs, producersAcked, pollMs = 200 }: KafkaCaughtUpOptions): AwaitMeteringCaughtUp =>
  async (asOfMs, signal, restoreToken) => {
    await sleep(Math.max(0, asOfMs + producerBoundMs - Date.now()), signal);
    if (producersAcked && restoreToken !== undefined) await producersAcked(restoreToken, signal);
    const ends = await kafka.endOffsets(topic);
    while (!signal.aborted) {
      const committed = await kafka.committedOffsets(groupId, topic);
      // A partition with nothing readable left (empty, or its records past retention) is caught up.
      if (ends.every((p) => p.end <= p.start || (committed.get(p.partition) ?? -1n) >= p.end)) return;
      await sleep(pollMs, signal);
    }
  };
