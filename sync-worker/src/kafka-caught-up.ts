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
  pollMs?: number;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });

/**
 * The split deployment's metering path has caught up with `asOfMs` when every event in Kafka
 * as of asOfMs + the producer bound is stored: the sink group's committed offsets (committed
 * only after ClickHouse took the batch) reach the topic's end offsets taken then.
 */
export const kafkaMeteringCaughtUp =
  ({ kafka, topic, groupId = SINK_GROUP_ID, producerBoundMs, pollMs = 200 }: KafkaCaughtUpOptions): AwaitMeteringCaughtUp =>
  async (asOfMs, signal) => {
    await sleep(Math.max(0, asOfMs + producerBoundMs - Date.now()), signal);
    const ends = await kafka.endOffsets(topic);
    while (!signal.aborted) {
      const committed = await kafka.committedOffsets(groupId, topic);
      // A partition with nothing readable left (empty, or its records past retention) is caught up.
      if (ends.every((p) => p.end <= p.start || (committed.get(p.partition) ?? -1n) >= p.end)) return;
      await sleep(pollMs, signal);
    }
  };
