import type { ClickHouseClient } from '@clickhouse/client';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { DEAD_LETTER_REASON_HEADER, deadLetterTopicOf, metrics, writeEventsOnce, type Logger, type StoredEvent } from '@tollgate/core';
import { backoffDelay, pause } from '@tollgate/core';
import { SinkReadiness } from './readiness.ts';
import { sortMessages, type RawMessage, type Refused } from './sort-messages.ts';

export interface KafkaSinkOptions {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  topic: string;
  groupId?: string;
  /** Most events per ClickHouse insert. */
  batchSize: number;
  /** Longest a fetch waits to fill before the sink writes what it has. */
  batchWaitMs: number;
  logger: Logger;
  /** How often consumer lag is measured (and readiness refreshed). */
  lagIntervalMs?: number;
  /** How soon the group gives a crashed member's partitions to another. */
  sessionTimeoutMs?: number;
}

export const DEFAULT_SINK_GROUP = 'tollgate-meter-sink';

/**
 * Kafka → ClickHouse, each (source, id) stored once. Per fetched chunk:
 * 1. Sort: events to store, the rest to the dead-letter topic with the reason.
 * 2. Dead letters are produced and acknowledged first: a refused message is never dropped silently.
 * 3. Persist to ClickHouse through the idempotent writer; while that fails, back off and retry,
 *    holding the partition and committing nothing.
 * 4. Commit the offset after the last stored message — at least once: if the commit is lost the
 *    chunk comes again, and step 3 recognises what is already stored.
 */
export class KafkaMeterSink {
  readonly readiness = new SinkReadiness();
  readonly #o: Required<KafkaSinkOptions>;
  readonly #consumer: Consumer;
  readonly #producer: Producer;
  readonly #stopping = new AbortController();
  #lagTimer: NodeJS.Timeout | undefined;

  constructor(options: KafkaSinkOptions) {
    this.#o = { groupId: DEFAULT_SINK_GROUP, lagIntervalMs: 2_000, sessionTimeoutMs: 30_000, ...options };
    this.#consumer = options.kafka.consumer({
      groupId: this.#o.groupId,
      maxWaitTimeInMs: options.batchWaitMs,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      sessionTimeout: this.#o.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(this.#o.sessionTimeoutMs / 10)),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    this.#producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    const { GROUP_JOIN, CRASH, STOP } = this.#consumer.events;
    this.#consumer.on(GROUP_JOIN, ({ payload }) => {
      this.readiness.consumerRunning = true;
      this.readiness.assignedPartitions = Object.values(payload.memberAssignment).reduce((n, parts) => n + parts.length, 0);
    });
    this.#consumer.on(CRASH, ({ payload }) => {
      this.readiness.consumerRunning = false;
      options.logger.error('sink consumer crashed', { error: String(payload.error), restart: payload.restart });
    });
    this.#consumer.on(STOP, () => {
      this.readiness.consumerRunning = false;
    });
  }

  async start(): Promise<void> {
    await this.#producer.connect();
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [this.#o.topic], fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 3,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    this.#lagTimer = setInterval(() => void this.#measureLag(), this.#o.lagIntervalMs);
    this.#lagTimer.unref();
  }

  /** Stops taking new fetches, lets the current chunk finish (or stop retrying), then disconnects. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    clearInterval(this.#lagTimer);
    await this.#consumer.disconnect();
    await this.#producer.disconnect();
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    for (let i = 0; i < batch.messages.length; i += this.#o.batchSize) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + this.#o.batchSize) as RawMessage[];
      const last = chunk[chunk.length - 1];
      if (!last) return;
      const { events, refused } = sortMessages(chunk);
      const stored = await this.#untilStored(events, refused, { heartbeat, isRunning, isStale });
      if (!stored) return; // stopping or rebalanced: nothing committed, the next owner starts here
      resolveOffset(last.offset);
      await this.#consumer.commitOffsets([{ topic, partition, offset: (BigInt(last.offset) + 1n).toString() }]);
      await heartbeat();
    }
  }

  async #untilStored(
    events: StoredEvent[],
    refused: Refused[],
    ctl: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>,
  ): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (refused.length > 0) await this.#deadLetter(refused);
        refused = [];
        await this.#store(events);
        this.readiness.storageHealthy = true;
        return true;
      } catch (err) {
        this.readiness.storageHealthy = false;
        metrics.sinkWriteFailures.inc();
        this.#o.logger.warn('sink write failed; retrying', { attempt, error: String(err) });
      }
      await pause(backoffDelay(attempt), this.#stopping.signal);
      if (this.#stopping.signal.aborted || !ctl.isRunning() || ctl.isStale()) return false;
      try {
        await ctl.heartbeat();
      } catch {
        return false; // the group rebalanced: this chunk now belongs to another member
      }
    }
  }

  async #store(events: StoredEvent[]): Promise<void> {
    const end = metrics.sinkFlushLatency.startTimer();
    let outcome = 'error';
    try {
      const { inserted, alreadyPresent } = await writeEventsOnce(this.#o.clickhouse, events);
      metrics.sinkBatchSize.observe(events.length);
      metrics.eventsProcessed.inc({ outcome: 'inserted' }, inserted);
      metrics.eventsProcessed.inc({ outcome: 'duplicate' }, alreadyPresent);
      outcome = 'ok';
    } finally {
      end({ outcome });
    }
  }

  async #deadLetter(refused: Refused[]): Promise<void> {
    await this.#producer.send({
      topic: deadLetterTopicOf(this.#o.topic),
      acks: -1,
      messages: refused.map(({ message, reason }) => ({
        key: message.key,
        value: message.value,
        headers: { ...message.headers, [DEAD_LETTER_REASON_HEADER]: reason },
      })),
    });
    metrics.deadLettered.inc(refused.length);
    metrics.eventsProcessed.inc({ outcome: 'dead_letter' }, refused.length);
  }

  async #measureLag(): Promise<void> {
    const admin = this.#o.kafka.admin();
    try {
      await admin.connect();
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(this.#o.topic),
        admin.fetchOffsets({ groupId: this.#o.groupId, topics: [this.#o.topic] }),
      ]);
      const done = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      let total = 0n;
      for (const p of ends) {
        const start = done.get(p.partition) ?? -1n;
        const lag = BigInt(p.high) - (start < 0n ? BigInt(p.low) : start);
        metrics.consumerLag.set({ partition: String(p.partition) }, Number(lag));
        total += lag;
      }
      this.readiness.groupLag = Number(total);
    } catch (err) {
      this.#o.logger.debug('lag measurement failed', { error: String(err) });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
