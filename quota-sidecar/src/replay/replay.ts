import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { createLogger, type Logger } from '@tollgate/core';
import { ENV } from '@tollgate/core/config';
import { metrics } from '@tollgate/core/metrics';
import { parseEvent, type StoredEvent } from '@tollgate/core/events';
import { SINK_GROUP_ID, type KafkaClient, type PartitionBatch } from '@tollgate/core/kafka';
import { EventWriter } from '@tollgate/core/clickhouse';

export type ReplayState = 'running' | 'done' | 'failed';

export interface ReplayRequest {
  /** Epoch ms: events at or after it (and the Kafka offsets of this timestamp). */
  from: number;
  /** Epoch ms, exclusive; unset → up to the end offsets at the time of the request. */
  to?: number | undefined;
  /** Only these subjects; unset → every subject. */
  subjects?: readonly string[] | undefined;
}

/** What reconciling the affected subjects did. */
export interface ReplayReconciled {
  subjects: number;
  applied: number;
  stale: number;
  adjustments: number;
}

export interface ReplayProgress {
  id: string;
  state: ReplayState;
  from: string;
  to: string | null;
  subjects: string[] | null;
  /** Messages read between the start and the stop offsets. */
  read: number;
  inserted: number;
  alreadyPresent: number;
  /** Events ClickHouse refused on their own (the sink dead-lettered those already). */
  refused: number;
  /** Outside `from`/`to` or of another subject, or not an event (the sink dead-lettered those already). */
  skipped: number;
  invalid: number;
  partitions: number;
  partitionsDone: number;
  /** True while the replay waits for the meter-sink to store up to the stop offsets. */
  waitingForSink: boolean;
  startedAt: string;
  finishedAt: string | null;
  reconciled: ReplayReconciled | null;
  error?: string;
}

export interface ReplayOptions extends ReplayRequest {
  kafka: KafkaClient;
  clickhouse: ClickHouseClient;
  topic: string;
  id?: string;
  /** Most events per ClickHouse insert: SINK_BATCH_SIZE's default, as the sink's, unless given. */
  batchSize?: number;
  /** DEDUPE_HORIZON_DAYS of the writer. */
  dedupeHorizonDays?: number;
  /**
   * The sink's consumer group: reading starts once it has committed up to the stop offsets, so the
   * sink and the replay never write the same event at once (two writers inserting one key at
   * the same moment on a ClickHouse server could both store it: README, Guarantees). `null`: do not wait (the caller knows the sink is not running).
   */
  sinkGroupId?: string | null;
  /** Longest the wait for the sink lasts before the replay fails. */
  sinkWaitMs?: number;
  /** Called when the events are stored, with every subject the replay saw in range. */
  reconcile?: ((subjects: string[]) => Promise<ReplayReconciled>) | undefined;
  logger?: Logger | undefined;
  now?: () => number;
}

export interface Replay {
  readonly id: string;
  progress(): ReplayProgress;
  /** Settles with the final progress (state done or failed); never rejects. */
  readonly done: Promise<ReplayProgress>;
}

interface PartitionRange {
  partition: number;
  start: bigint;
  /** Exclusive: the end offset at the time of the request. */
  end: bigint;
}

const iso = (ms: number) => new Date(ms).toISOString();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Longest the replay's consumer may fail to fetch, without reading anything, before the replay fails. */
const FETCH_FAILURE_LIMIT_MS = 60_000;

/** Start (offsets of `from`) and stop (end offsets now) of each partition. */
const resolveRanges = async (kafka: KafkaClient, topic: string, from: number): Promise<PartitionRange[]> => {
  const [starts, ends] = await Promise.all([kafka.offsetsAt(topic, from), kafka.endOffsets(topic)]);
  return ends.map((e) => {
    const s = starts.get(e.partition) ?? e.end;
    return { partition: e.partition, start: s < e.start ? e.start : s, end: e.end };
  });
};

/** Waits until `groupId` has committed at least each range's end (where there is anything to read). */
const waitForGroup = async (kafka: KafkaClient, topic: string, groupId: string, ranges: PartitionRange[], deadline: number, now: () => number) => {
  for (;;) {
    const at = await kafka.committedOffsets(groupId, topic);
    const behind = ranges.filter((r) => r.start < r.end && (at.get(r.partition) ?? -1n) < r.end);
    if (behind.length === 0) return;
    if (now() > deadline) {
      throw new Error(
        `the meter-sink (consumer group ${groupId}) has not stored up to the replay's stop offsets on partitions ${behind.map((r) => r.partition).join(', ')}; start the sink, or retry once it has caught up`,
      );
    }
    await pause(250);
  }
};

/**
 * Re-reads the events topic from the offsets of `from` up to the end offsets at the time of the
 * request, in a consumer group of its own, and stores each event in range through the sink's
 * idempotent writer (what is stored already is counted, not written again). Then reconciles the
 * subjects it saw. Running the same replay twice changes nothing the second time.
 */
export const startReplay = (o: ReplayOptions): Replay => {
  const id = o.id ?? randomUUID();
  const now = o.now ?? Date.now;
  const batchSize = o.batchSize ?? ENV.SINK_BATCH_SIZE.fallback;
  const wanted = o.subjects && o.subjects.length > 0 ? new Set(o.subjects) : undefined;
  const p: ReplayProgress = {
    id,
    state: 'running',
    from: iso(o.from),
    to: o.to === undefined ? null : iso(o.to),
    subjects: wanted ? [...wanted] : null,
    read: 0,
    inserted: 0,
    alreadyPresent: 0,
    refused: 0,
    skipped: 0,
    invalid: 0,
    partitions: 0,
    partitionsDone: 0,
    waitingForSink: false,
    startedAt: iso(now()),
    finishedAt: null,
    reconciled: null,
  };
  const affected = new Set<string>();
  const inRange = (e: StoredEvent) => e.timeMs >= o.from && (o.to === undefined || e.timeMs < o.to) && (!wanted || wanted.has(e.subject));

  const writer = new EventWriter({ clickhouse: o.clickhouse, logger: o.logger ?? createLogger('replay', 'silent'), writer: 'replay', dedupeHorizonDays: o.dedupeHorizonDays });
  const store = async (events: StoredEvent[]) => {
    if (events.length === 0) return;
    const { inserted, alreadyPresent, refused } = await writer.write(events);
    p.inserted += inserted;
    p.alreadyPresent += alreadyPresent;
    p.refused += refused.length;
    metrics.replayEvents.inc({ outcome: 'inserted' }, inserted);
    metrics.replayEvents.inc({ outcome: 'duplicate' }, alreadyPresent);
  };

  /** Reads each partition from its start to its stop offset in a group of its own, then deletes the group. */
  const consume = async (ranges: PartitionRange[]) => {
    const groupId = `tollgate-replay-${id}`;
    const pending = new Map(ranges.filter((r) => r.start < r.end).map((r) => [r.partition, r]));
    p.partitionsDone = ranges.length - pending.size;
    if (pending.size === 0) return;
    let finish: () => void = () => undefined;
    let fail: (err: unknown) => void = () => undefined;
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    let failingSince: number | undefined;
    const onBatch = async (batch: PartitionBatch): Promise<boolean> => {
      failingSince = undefined;
      const range = pending.get(batch.partition);
      if (!range) return true;
      const events: StoredEvent[] = [];
      for (const m of batch.records) {
        if (m.offset >= range.end) break;
        p.read += 1;
        const parsed = parseEvent(m.value);
        if (!parsed.ok) {
          p.invalid += 1;
          p.skipped += 1;
        } else if (!inRange(parsed.event)) {
          p.skipped += 1;
        } else {
          events.push(parsed.event);
          affected.add(parsed.event.subject);
        }
      }
      await store(events);
      if (batch.nextOffset >= range.end) {
        pending.delete(batch.partition);
        p.partitionsDone += 1;
        if (pending.size === 0) finish();
      }
      return true;
    };
    const group = o.kafka.consumerGroup({
      groupId,
      topic: o.topic,
      startAt: new Map(ranges.map((r) => [r.partition, r.start])),
      maxWaitMs: 100,
      maxBatchRecords: batchSize,
      onBatch,
      onError: (err, during) => {
        o.logger?.warn('replay consumer error; retrying', { id, during, error: String(err) });
        failingSince ??= now();
        if (now() - failingSince > FETCH_FAILURE_LIMIT_MS) fail(err);
      },
    });
    try {
      await group.start();
      await finished;
    } finally {
      await group.stop();
      await o.kafka.deleteGroups([groupId]).catch((err: unknown) => o.logger?.debug('replay group not deleted', { groupId, error: String(err) }));
    }
  };

  const run = async (): Promise<ReplayProgress> => {
    try {
      const ranges = await resolveRanges(o.kafka, o.topic, o.from);
      p.partitions = ranges.length;
      const sinkGroup = o.sinkGroupId === undefined ? SINK_GROUP_ID : o.sinkGroupId;
      if (sinkGroup !== null) {
        p.waitingForSink = true;
        await waitForGroup(o.kafka, o.topic, sinkGroup, ranges, now() + (o.sinkWaitMs ?? 300_000), now);
        p.waitingForSink = false;
      }
      o.logger?.info('replay reading', { id, topic: o.topic, ranges: ranges.map((r) => ({ partition: r.partition, start: String(r.start), end: String(r.end) })) });
      await consume(ranges);
      if (o.reconcile && affected.size > 0) p.reconciled = await o.reconcile([...affected].sort());
      p.state = 'done';
      metrics.replays.inc({ result: 'done' });
      o.logger?.info('replay done', { ...p });
    } catch (err) {
      p.state = 'failed';
      p.error = err instanceof Error ? err.message : String(err);
      metrics.replays.inc({ result: 'failed' });
      o.logger?.error('replay failed', { ...p });
    } finally {
      p.waitingForSink = false;
      p.finishedAt = iso(now());
    }
    return { ...p };
  };

  return { id, progress: () => ({ ...p }), done: run() };
};
