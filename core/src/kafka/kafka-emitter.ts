import type { CloudEventV1 } from 'cloudevents';
import type { Kafka, Producer } from 'kafkajs';
import type { EventEmitter } from '../events/emitter.ts';
import type { Logger } from '../logger.ts';
import { countingCell, metrics } from '../metrics/metrics.ts';
import { SpoolFullError, type DiskSpool, type SpoolRecord } from '../spool/disk-spool.ts';
import { kafkajsKeyedPartitioner as keyedPartitioner } from './kafkajs-partitioner.ts';
import { CLOUDEVENTS_CONTENT_TYPE } from './messages.ts';

export type SpoolFullPolicy = 'deny' | 'serve';

/** Kafka's default message.max.bytes is 1 MiB; stay well under it per request. */
const MAX_REQUEST_BYTES = 512 * 1024;

const byteSlices = (records: SpoolRecord[], maxBytes: number): SpoolRecord[][] => {
  const slices: SpoolRecord[][] = [];
  let current: SpoolRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = r.key.length + r.value.length + 64;
    if (current.length > 0 && bytes + size > maxBytes) {
      slices.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) slices.push(current);
  return slices;
};

export interface KafkaEmitterOptions {
  kafka: Kafka;
  topic: string;
  spool: DiskSpool;
  logger: Logger;
  /** Longest an event waits in memory before its batch is sent. */
  lingerMs?: number;
  /** Largest batch sent at once. */
  maxBatch?: number;
  /** `deny`: `accepting` turns false while the spool is full; `serve`: keep serving and count what is lost. */
  spoolFullPolicy?: SpoolFullPolicy;
}

/**
 * Events to Kafka without ever making a request wait: `emit` only buffers. Batches go out
 * after `lingerMs` with an idempotent producer (acks from all in-sync replicas), key = subject.
 * While Kafka is unreachable, batches are appended to the disk spool; once anything is spooled,
 * newer batches queue behind it, so events reach Kafka in the order they were emitted. One
 * task runs at a time (send, spool, or drain a spooled batch), which is what keeps that order.
 */
export class KafkaEmitter implements EventEmitter {
  readonly #o: Required<Omit<KafkaEmitterOptions, 'kafka'>>;
  readonly #kafka: Kafka;
  #producer: Producer;
  #buffer: SpoolRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #tasks: Promise<void> = Promise.resolve();
  /** Deliveries handed to the task queue and not yet finished. */
  #delivering = 0;
  #connected = false;
  #spoolFull = false;
  #draining = false;
  #closed = false;
  #lastLossLog = 0;
  readonly #emitted = countingCell(metrics.eventsEmitted);

  constructor({ kafka, ...options }: KafkaEmitterOptions) {
    this.#o = { lingerMs: 5, maxBatch: 5_000, spoolFullPolicy: 'deny', ...options };
    this.#kafka = kafka;
    this.#producer = this.#newProducer();
    metrics.spoolDepth.set(this.#o.spool.size);
  }

  #newProducer(): Producer {
    const producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: keyedPartitioner,
      allowAutoTopicCreation: false,
      // Fail fast to the spool rather than hold batches in memory while the broker is away.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    producer.on(producer.events.DISCONNECT, () => {
      if (producer === this.#producer) this.#connected = false;
    });
    return producer;
  }

  /** Connects if it can; a broker that is down now is not an error, events spool meanwhile. */
  async start(): Promise<void> {
    await this.#connect();
    if (!this.#o.spool.isEmpty) this.#startDrain();
  }

  /** False while the spool is full under the `deny` policy: new requests should be refused. */
  get accepting(): boolean {
    return !(this.#spoolFull && this.#o.spoolFullPolicy === 'deny');
  }

  get spooled(): number {
    return this.#o.spool.size;
  }

  emit(event: CloudEventV1<unknown>): void {
    this.#buffer.push({ key: event.subject ?? '', value: JSON.stringify(event) });
    this.#emitted.inc();
    if (this.#buffer.length >= this.#o.maxBatch) this.#flushBuffer();
    else if (this.#delivering === 0) this.#timer ??= setTimeout(() => this.#flushBuffer(), this.#o.lingerMs);
  }

  async flush(): Promise<void> {
    do {
      this.#flushBuffer(true);
      await this.#tasks;
    } while (this.#buffer.length > 0);
  }

  /** Resolves when nothing is buffered or spooled (or after `timeoutMs`). */
  async drained(timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.flush();
      if (this.#o.spool.isEmpty && this.#buffer.length === 0) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.#tasks;
    await this.#producer.disconnect().catch(() => undefined);
    await this.#o.spool.close();
  }

  /**
   * Hands the buffer to the task queue. While a delivery is still under way, the buffer keeps
   * growing instead (up to maxBatch) and goes out when that delivery ends: under load, batches
   * grow with the broker's round trip rather than becoming one request per linger period.
   */
  #flushBuffer(force = false): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer.length === 0) return;
    if (this.#delivering > 0 && !force && this.#buffer.length < this.#o.maxBatch) return;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#delivering++;
    void this.#enqueue(() => this.#deliver(batch)).finally(() => {
      this.#delivering--;
      if (this.#delivering === 0 && this.#buffer.length > 0) this.#flushBuffer();
    });
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    this.#tasks = this.#tasks.then(task).catch((err: unknown) => {
      this.#o.logger.error('emitter task failed', { error: String(err) });
    });
    return this.#tasks;
  }

  async #deliver(batch: SpoolRecord[]): Promise<void> {
    if (this.#o.spool.isEmpty && this.#connected) {
      try {
        await this.#send(batch);
        return;
      } catch (err) {
        this.#o.logger.warn('Kafka unreachable; spooling events to disk', { error: String(err) });
      }
    }
    await this.#spool(batch);
    this.#startDrain();
  }

  async #spool(batch: SpoolRecord[]): Promise<void> {
    try {
      await this.#o.spool.append(batch);
      this.#spoolFull = false;
    } catch (err) {
      if (!(err instanceof SpoolFullError)) throw err;
      this.#spoolFull = true;
      metrics.eventsUnrecorded.inc(batch.length);
      if (Date.now() - this.#lastLossLog > 5_000) {
        this.#lastLossLog = Date.now();
        this.#o.logger.error('event spool full: events are not being recorded', {
          lost: batch.length,
          policy: this.#o.spoolFullPolicy,
        });
      }
    }
    metrics.spoolDepth.set(this.#o.spool.size);
  }

  #startDrain(): void {
    if (this.#draining || this.#closed) return;
    this.#draining = true;
    void (async () => {
      let attempt = 0;
      while (!this.#o.spool.isEmpty && !this.#closed) {
        let sent = false;
        await this.#enqueue(async () => {
          if (!this.#connected) await this.#connect();
          if (!this.#connected) return;
          const batch = await this.#o.spool.peek(attempt === 0 ? this.#o.maxBatch : 100);
          await this.#send(batch);
          await this.#o.spool.ack(batch.length);
          this.#spoolFull = false;
          metrics.spoolDepth.set(this.#o.spool.size);
          sent = true;
        });
        if (sent) attempt = 0;
        else await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** Math.min(attempt++, 5))));
      }
      this.#draining = false;
      if (!this.#o.spool.isEmpty && !this.#closed) this.#startDrain();
    })();
  }

  /**
   * Sends in requests of at most MAX_REQUEST_BYTES, under the broker's message size limit.
   * A failed request leaves the idempotent producer's sequence numbers unknown to us, so the
   * producer is replaced (a new producer id) before anything is sent again; what was sent
   * twice is dropped downstream by (source, id).
   */
  async #send(batch: SpoolRecord[]): Promise<void> {
    try {
      for (const part of byteSlices(batch, MAX_REQUEST_BYTES)) {
        await this.#producer.send({
          topic: this.#o.topic,
          acks: -1,
          messages: part.map((r) => ({ key: r.key, value: r.value, headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE } })),
        });
      }
    } catch (err) {
      const old = this.#producer;
      this.#producer = this.#newProducer();
      this.#connected = false;
      await old.disconnect().catch(() => undefined);
      throw err;
    }
  }

  async #connect(): Promise<void> {
    try {
      await this.#producer.connect();
      this.#connected = true;
    } catch (err) {
      this.#connected = false;
      this.#o.logger.warn('Kafka producer not connected', { error: String(err) });
    }
  }
}
