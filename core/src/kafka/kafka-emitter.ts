import type { CloudEventV1 } from 'cloudevents';
import { backoffDelay, pause } from '../backoff.ts';
import { DeliveryProgress } from '../events/delivery-progress.ts';
import type { EventEmitter } from '../events/emitter.ts';
import type { Logger } from '../logger.ts';
import { countingCell, metrics } from '../metrics/metrics.ts';
import { SpoolFullError, type DiskSpool, type SpoolRecord } from '../spool/disk-spool.ts';
import type { RetryPolicy } from './connection.ts';
import type { KafkaClient } from './kafka-client.ts';
import type { KeyedProducer } from './keyed-producer.ts';
import { CLOUDEVENTS_CONTENT_TYPE } from './messages.ts';
import { ENV } from '../config/env.ts';

export type SpoolFullPolicy = 'deny' | 'serve';

/**
 * A send gives up quickly: a batch that cannot be sent goes to the spool, on disk, rather than
 * wait in memory. (With the idempotent producer, fewer than 2 retries would mean unbounded ones.)
 */
export const EMITTER_RETRY: RetryPolicy = { retries: 2, retryDelayMs: 100, connectTimeoutMs: 1_000, requestTimeoutMs: 10_000 };
/** Records per send while draining the spool: small enough that reading a batch back stays short. */
const DRAIN_BATCH = 2_000;

export interface KafkaEmitterOptions {
  kafka: KafkaClient;
  topic: string;
  spool: DiskSpool;
  logger: Logger;
  /** Longest an event waits in memory before its batch is sent. */
  lingerMs?: number;
  /** Largest batch handed to one delivery: a fuller buffer goes out before its linger ends. */
  maxBatch?: number;
  /**
   * Most events in one produce request: a delivery is encoded request by request, so this
   * bounds how long encoding holds the event loop (a few µs per event) between requests.
   */
  maxRecordsPerRequest?: number;
  /** `deny`: `accepting` turns false while the spool is full; `serve`: keep serving and count what is lost. */
  spoolFullPolicy?: SpoolFullPolicy;
  /**
   * Creates the topic if it does not exist yet. Given, batches go to the spool until it
   * succeeded (the drainer calls it again after each failure); omitted, the topic exists.
   */
  ensureTopic?: () => Promise<void>;
  /** Close the Kafka client with the emitter (it was opened for the emitter alone). */
  ownsClient?: boolean;
}

/**
 * Events to Kafka without ever making a request wait: `emit` only buffers. Batches go out after
 * `lingerMs` through the keyed idempotent producer (acks=all, key = subject). When a send
 * fails, its batch is appended to the disk spool and so is every batch after it, without
 * trying Kafka, until the spool is empty again: one outage costs one failed send, not one per
 * batch. A drainer sends the spool's oldest records, backing off while Kafka is away; once the
 * spool is empty, batches go straight to Kafka again. Deliveries (a send or an append) run one
 * at a time, in emit order, and the drainer sends only spooled records, older than any
 * delivery after them: events reach Kafka in the order they were emitted.
 */
export class KafkaEmitter implements EventEmitter {
  readonly #options: Required<Omit<KafkaEmitterOptions, 'kafka' | 'ensureTopic'>> & Pick<KafkaEmitterOptions, 'ensureTopic'>;
  readonly #kafka: KafkaClient;
  readonly #producer: KeyedProducer;
  #buffer: SpoolRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** When the buffer's first event arrived (performance.now()). */
  #oldestAt = 0;
  #deliveries: Promise<void> = Promise.resolve();
  /** Deliveries handed to the queue and not yet finished. */
  #delivering = 0;
  /** Events in those deliveries (the in-flight gauge). */
  #inFlight = 0;
  /** True from a failed send until the drainer has emptied the spool. */
  #spooling = false;
  #appending = 0;
  #spoolFull = false;
  #drainer: Promise<void> | undefined;
  #topicReady: boolean;
  readonly #closing = new AbortController();
  #lastLossLog = 0;
  readonly #emitted = countingCell(metrics.eventsEmitted);
  /** Emitted and delivered (sent, or spooled) events, for a restore's wait. */
  readonly progress = new DeliveryProgress();

  constructor({ kafka, ...options }: KafkaEmitterOptions) {
    this.#options = { lingerMs: ENV.KAFKA_LINGER_MS.fallback, maxBatch: 5_000, maxRecordsPerRequest: 500, spoolFullPolicy: ENV.SPOOL_FULL_POLICY.fallback, ownsClient: false, ...options };
    this.#kafka = kafka;
    this.#producer = kafka.producer({
      retry: EMITTER_RETRY,
      headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
      maxRecordsPerRequest: this.#options.maxRecordsPerRequest,
    });
    this.#topicReady = options.ensureTopic === undefined;
    this.#spoolGauges();
  }

  /** Starts draining what an earlier run left in the spool. Connecting happens on the first send. */
  async start(): Promise<void> {
    if (!this.#options.spool.isEmpty) {
      this.#spooling = true;
      this.#startDrain();
    }
  }

  /** False while the spool is full under the `deny` policy: new requests should be refused. */
  get accepting(): boolean {
    return !(this.#spoolFull && this.#options.spoolFullPolicy === 'deny');
  }

  get spooled(): number {
    return this.#options.spool.size;
  }

  emit(event: CloudEventV1<unknown>): void {
    // The first event of a batch starts its linger: the batch goes when that event has waited lingerMs.
    if (this.#buffer.push({ key: event.subject ?? '', value: JSON.stringify(event) }) === 1) {
      this.#oldestAt = performance.now();
      this.#timer ??= setTimeout(this.#lingerEnded, this.#options.lingerMs);
    }
    this.#emitted.inc();
    this.progress.emitted(1);
    if (this.#buffer.length >= this.#options.maxBatch) this.#flushBuffer();
  }

  readonly #lingerEnded = (): void => {
    this.#timer = undefined;
    this.#flushBuffer();
  };

  /** Resolves when every event emitted so far was sent to Kafka or appended to the spool. */
  async flush(): Promise<void> {
    do {
      this.#flushBuffer(true);
      await this.#deliveries;
    } while (this.#buffer.length > 0);
  }

  /** Resolves true when nothing is buffered or spooled (false after `timeoutMs`). */
  async drained(timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.flush();
      if (this.#options.spool.isEmpty && this.#buffer.length === 0) return true;
      if (Date.now() > deadline) return false;
      await pause(50);
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closing.abort();
    await this.#drainer;
    await this.#producer.close().catch(() => undefined);
    if (this.#options.ownsClient) await this.#kafka.close().catch(() => undefined);
    await this.#options.spool.close();
  }

  /**
   * Hands the buffer to the delivery queue. While a delivery is still under way, the buffer keeps
   * growing instead (up to maxBatch) and goes out when that delivery ends, if its first event has
   * lingered long enough by then: a batch holds what lingerMs gathers, or more while Kafka is slow.
   */
  #flushBuffer(force = false): void {
    if (this.#buffer.length > 0 && this.#delivering > 0 && !force && this.#buffer.length < this.#options.maxBatch) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer.length === 0) return;
    const batch = this.#buffer;
    this.#buffer = [];
    metrics.emitterBatchEvents.observe(batch.length);
    this.#delivering++;
    this.#inFlight += batch.length;
    metrics.emitterInFlight.set(this.#inFlight);
    this.#deliveries = this.#deliveries
      .then(() => this.#deliver(batch))
      .catch((err: unknown) => this.#options.logger.error('event delivery failed', { events: batch.length, error: String(err) }))
      .finally(() => {
        // Sent, spooled, or failed and logged: nothing more will become of this batch.
        this.progress.delivered(batch.length);
        this.#delivering--;
        this.#inFlight -= batch.length;
        metrics.emitterInFlight.set(this.#inFlight);
        if (this.#delivering > 0 || this.#buffer.length === 0) return;
        const waited = performance.now() - this.#oldestAt;
        if (waited >= this.#options.lingerMs || this.#buffer.length >= this.#options.maxBatch) this.#flushBuffer();
        else this.#timer ??= setTimeout(this.#lingerEnded, this.#options.lingerMs - waited);
      });
  }

  async #deliver(batch: SpoolRecord[]): Promise<void> {
    if (!this.#spooling && this.#topicReady) {
      try {
        await this.#producer.send(this.#options.topic, batch);
        return;
      } catch (err) {
        this.#options.logger.warn('Kafka unreachable; spooling events to disk until it answers', { error: String(err) });
      }
    }
    this.#spooling = true;
    this.#appending++;
    try {
      await this.#spool(batch);
    } finally {
      this.#appending--;
    }
    this.#startDrain();
  }

  async #spool(batch: SpoolRecord[]): Promise<void> {
    try {
      await this.#options.spool.append(batch);
      this.#spoolFull = false;
    } catch (err) {
      if (!(err instanceof SpoolFullError)) throw err;
      this.#spoolFull = true;
      metrics.eventsUnrecorded.inc(batch.length);
      if (Date.now() - this.#lastLossLog > 5_000) {
        this.#lastLossLog = Date.now();
        this.#options.logger.error('event spool full: events are not being recorded', { lost: batch.length, policy: this.#options.spoolFullPolicy });
      }
    } finally {
      this.#spoolGauges();
    }
  }

  #startDrain(): void {
    if (this.#drainer || this.#closing.signal.aborted) return;
    this.#drainer = this.#drain().finally(() => {
      this.#drainer = undefined;
      // An append that finished while this drainer was ending: drain it too.
      if (!this.#options.spool.isEmpty && !this.#closing.signal.aborted) this.#startDrain();
    });
  }

  /** Sends the spool's oldest records until it is empty, backing off while Kafka does not answer. */
  async #drain(): Promise<void> {
    const spool = this.#options.spool;
    for (let attempt = 0; !this.#closing.signal.aborted; ) {
      if (spool.isEmpty) {
        // Nothing spooled and no append under way: what comes next may go straight to Kafka.
        if (this.#appending === 0) this.#spooling = false;
        return;
      }
      try {
        if (!this.#topicReady) await this.#ensureTopic();
        const batch = await spool.peek(DRAIN_BATCH);
        await this.#producer.send(this.#options.topic, batch);
        await spool.ack(batch.length);
        this.#spoolFull = false;
        this.#spoolGauges();
        attempt = 0;
      } catch (err) {
        this.#options.logger.debug('spool not drained yet', { attempt, error: String(err) });
        await pause(backoffDelay(attempt++, { baseMs: 200 }), this.#closing.signal);
      }
    }
  }

  async #ensureTopic(): Promise<void> {
    await this.#options.ensureTopic?.();
    this.#topicReady = true;
  }

  #spoolGauges(): void {
    metrics.spoolDepth.set(this.#options.spool.size);
    metrics.spoolBytes.set(this.#options.spool.bytes);
  }
}
