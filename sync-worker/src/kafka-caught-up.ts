import { pause as sleep } from '@tollgate/core';
import { SINK_GROUP_ID, type KafkaClient } from '@tollgate/core/kafka';
import type { AwaitMeteringCaughtUp } from './sync-worker.ts';

export interface KafkaCaughtUpOptions {
  kafka: KafkaClient;
  topic: string;
  /** The meter-sink's consumer group. */
  groupId?: string;
  /**
   * Waited from asOfMs before anything is read: the producers' linger plus a margin. Without
   * `producersAcked` it is the whole bound (an event held longer is not waited for); with it,
   * it is the time a live producer has to write its mark again after a wipe, and a slow send
   * or a slow upstream is waited for through the acknowledgements.
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
