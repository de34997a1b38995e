import type { ClickHouseClient } from '@clickhouse/client';
import { backoffDelay, pause, type Logger } from '@tollgate/core';
import { ENV } from '@tollgate/core/config';
import { metrics } from '@tollgate/core/metrics';
import { DEFAULT_EVENT_TIME_WINDOW, type EventTimeWindow } from '@tollgate/core/events';
import {
  DEAD_LETTER_REASON_HEADER,
  deadLetterTopicOf,
  SINK_GROUP_ID,
  type ConsumerGroup,
  type KafkaClient,
  type KeyedProducer,
  type PartitionBatch,
} from '@tollgate/core/kafka';
import { SinkReadiness } from './readiness.ts';
import { refusedByStore, parseRecords, type Refused, type ParsedRecords } from './parse-records.ts';
import { createWriteStep, isOwnershipLost, type WriteContext, type WriteStep } from './write-step.ts';

export interface KafkaSinkOptions {
  kafka: KafkaClient;
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
  /** DEDUPE_HORIZON_DAYS of the writer. */
  dedupeHorizonDays?: number;
  /** The acceptance window of event times around each record's Kafka timestamp (EVENT_MAX_AGE_MS, EVENT_MAX_AHEAD_MS). */
  eventTimeWindow?: EventTimeWindow;
}

/**
 * Kafka → ClickHouse, each (source, id) stored once. Per batch (one partition, offset order):
 * 1. Sort: events to store, the rest for the dead-letter topic with the reason (one validation call).
 * 2. Persist through the write step, which answers the events ClickHouse refused on their own;
 *    while a write fails, back off and retry, holding the partition and committing nothing, until
 *    it succeeds, the partition moves away, or the sink stops.
 * 3. Dead letters (records that are no event, events ClickHouse refused) are produced and
 *    acknowledged before the commit: a refused message is never dropped silently.
 * 4. Commit the offset after the batch — at least once: if the commit is lost the batch comes
 *    again, and step 2 recognises what is already stored.
 */
export class KafkaMeterSink {
  readonly readiness = new SinkReadiness();
  readonly #options: Required<KafkaSinkOptions>;
  readonly #write: WriteStep;
  readonly #group: ConsumerGroup;
  readonly #deadLetters: KeyedProducer;
  #lagTimer: NodeJS.Timeout | undefined;

  constructor(options: KafkaSinkOptions) {
    this.#options = { groupId: SINK_GROUP_ID, lagIntervalMs: 2_000, sessionTimeoutMs: ENV.SINK_SESSION_TIMEOUT_MS.fallback, dedupeHorizonDays: ENV.DEDUPE_HORIZON_DAYS.fallback, eventTimeWindow: DEFAULT_EVENT_TIME_WINDOW, ...options };
    const { logger } = this.#options;
    this.#group = options.kafka.consumerGroup({
      groupId: this.#options.groupId,
      topic: this.#options.topic,
      sessionTimeoutMs: this.#options.sessionTimeoutMs,
      maxWaitMs: options.batchWaitMs,
      maxBatchRecords: options.batchSize,
      concurrency: 3,
      onBatch: (batch) => this.#handle(batch),
      onAssignment: (partitions, generation) => {
        this.readiness.consumerRunning = true;
        this.readiness.assignedPartitions = partitions.length;
        logger.info('sink partitions assigned', { partitions, generation });
      },
      onError: (err, during) => logger.warn('sink consumer error; retrying', { during, error: String(err) }),
    });
    this.#write = createWriteStep({ clickhouse: options.clickhouse, logger, dedupeHorizonDays: this.#options.dedupeHorizonDays, stopping: this.#group.stopping });
    this.#deadLetters = options.kafka.producer();
  }

  async start(): Promise<void> {
    await this.#group.start();
    this.readiness.consumerRunning = true;
    this.#lagTimer ??= setInterval(() => void this.#measureLag(), this.#options.lagIntervalMs);
    this.#lagTimer.unref();
  }

  /**
   * Stops fetching, lets the batches in hand be stored and committed (a write that keeps failing
   * stops retrying at once), leaves the group so its partitions move at once, and closes.
   */
  async stop(): Promise<void> {
    clearInterval(this.#lagTimer);
    await this.#group.stop();
    this.readiness.consumerRunning = false;
    await this.#deadLetters.close();
  }

  async #handle(batch: PartitionBatch): Promise<boolean> {
    const stored = await this.#untilStored(batch, parseRecords(batch.records, this.#options.eventTimeWindow));
    // Not stored (stopping, or the partition moved): nothing is committed; it is read again.
    return stored && (await this.#group.commit(batch));
  }

  async #untilStored(batch: PartitionBatch, parsed: ParsedRecords): Promise<boolean> {
    const context: WriteContext = {
      topic: batch.topic,
      partition: batch.partition,
      generation: batch.generation,
      firstOffset: batch.records[0]?.offset ?? batch.nextOffset,
      nextOffset: batch.nextOffset,
      stillOwner: () => this.#group.owns(batch.partition, batch.generation),
    };
    const stopping = this.#group.stopping;
    for (let attempt = 0; ; attempt++) {
      try {
        const dead = [...parsed.refused, ...(await this.#store(parsed, context))];
        if (dead.length > 0) await this.#deadLetter(dead);
        this.readiness.storageHealthy = true;
        this.readiness.storageFailure = undefined;
        return true;
      } catch (err) {
        // Another sink owns the partition now (its claim superseded this one's), or this one stops:
        // commit nothing; the batch is read again by whoever owns the partition.
        if (isOwnershipLost(err) || stopping.aborted) return false;
        // The writer logged and counted a ClickHouse failure with its cause; this counts the retry.
        this.readiness.storageHealthy = false;
        this.readiness.storageFailure = this.#write.health.failure?.cause ?? String(err);
        metrics.sinkWriteFailures.inc();
        this.#options.logger.warn('sink write failed; retrying', { attempt, partition: batch.partition, error: String(err) });
      }
      await pause(backoffDelay(attempt), stopping);
      if (stopping.aborted || !context.stillOwner()) return false;
    }
  }

  /** Stores the events; answers the records of those ClickHouse refused on their own, with its reason. */
  async #store(parsed: ParsedRecords, context: WriteContext): Promise<Refused[]> {
    const end = metrics.sinkFlushLatency.startTimer();
    let outcome = 'error';
    try {
      const written = await this.#write.write(parsed.events, context);
      metrics.sinkBatchSize.observe(parsed.events.length);
      metrics.eventsProcessed.inc({ outcome: 'inserted' }, written.inserted);
      metrics.eventsProcessed.inc({ outcome: 'duplicate' }, written.alreadyPresent);
      outcome = 'ok';
      return refusedByStore(parsed, written);
    } finally {
      end({ outcome });
    }
  }

  async #deadLetter(refused: Refused[]): Promise<void> {
    await this.#deadLetters.send(
      deadLetterTopicOf(this.#options.topic),
      refused.map(({ record, reason }) => ({
        key: record.key === null ? '' : record.key.toString(),
        value: record.value ?? Buffer.alloc(0),
        headers: {
          ...Object.fromEntries(record.headers.flatMap(([k, v]) => (k === null ? [] : [[k.toString(), v ?? Buffer.alloc(0)]]))),
          [DEAD_LETTER_REASON_HEADER]: reason,
        },
      })),
    );
    metrics.deadLettered.inc(refused.length);
    metrics.eventsProcessed.inc({ outcome: 'dead_letter' }, refused.length);
  }

  async #measureLag(): Promise<void> {
    try {
      const [ends, committed] = await Promise.all([this.#options.kafka.endOffsets(this.#options.topic), this.#options.kafka.committedOffsets(this.#options.groupId, this.#options.topic)]);
      let total = 0n;
      for (const p of ends) {
        const lag = p.end - (committed.get(p.partition) ?? p.start);
        metrics.consumerLag.set({ partition: String(p.partition) }, Number(lag));
        total += lag;
      }
      this.readiness.groupLag = Number(total);
      this.readiness.consumerRunning = this.#group.active && this.#group.fetching;
      this.readiness.assignedPartitions = this.#group.partitions.length;
    } catch (err) {
      // Kafka does not answer: the consumer cannot be doing its job either.
      this.readiness.consumerRunning = this.#group.active && this.#group.fetching;
      this.#options.logger.debug('lag measurement failed', { error: String(err) });
    }
  }
}
