import { ProduceAcks, Producer, type MessageToProduce } from '@platformatic/kafka';
import { clientOptions, type KafkaConnection, type RetryPolicy } from './connection.ts';
import { keyEncoder } from './keyed-partitioner.ts';
import { cutRequests } from './produce-requests.ts';

export interface OutgoingRecord {
  /** The subject: Kafka's per-key order and the partition come from it. */
  key: string;
  value: string | Buffer;
  /** Headers of this record only (added to the producer's own). */
  headers?: Readonly<Record<string, string | Buffer>> | undefined;
}

export interface KeyedProducerOptions {
  retry: RetryPolicy;
  /** Headers every record carries (e.g. its content type). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Most records in one produce request. A request is encoded in one go on the event loop, so
   * this bounds how long one send holds it; a larger send goes out as several requests, one
   * after the other (unbounded when omitted).
   */
  maxRecordsPerRequest?: number;
}

/**
 * Most bytes of one partition's records in one produce request: the broker refuses a record
 * batch above its message.max.bytes (1 MiB by default).
 */
const MAX_PARTITION_BYTES = 768 * 1024;
/** Record overhead beyond key and value, as the broker counts it (roughly). */
const RECORD_OVERHEAD = 70;

type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

const toBuffer = (v: string | Buffer) => (typeof v === 'string' ? Buffer.from(v) : v);
const headerMap = (...records: (Readonly<Record<string, string | Buffer>> | undefined)[]) => {
  const map = new Map<Buffer, Buffer>();
  for (const r of records) for (const [k, v] of Object.entries(r ?? {})) map.set(Buffer.from(k), toBuffer(v));
  return map;
};

/**
 * Keyed, idempotent producer: acknowledged by all in-sync replicas (acks=all), the broker drops
 * retried duplicates of one producer session, and each key goes to the partition Java's
 * partitioner gives it (see keyed-partitioner.ts). `send` resolves once every record is
 * acknowledged; when it rejects, some records may have been written (at least once: the
 * consumer side stores each (source, id) once).
 */
export class KeyedProducer {
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  readonly #encode = keyEncoder();
  readonly #headers: Map<Buffer, Buffer>;
  readonly #extraHeaders: Readonly<Record<string, string>> | undefined;
  readonly #maxRecords: number;

  constructor(connection: KafkaConnection, { retry, headers, maxRecordsPerRequest = Number.POSITIVE_INFINITY }: KeyedProducerOptions) {
    this.#producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
      ...clientOptions(connection, retry, 'producer'),
      idempotent: true,
      acks: ProduceAcks.ALL,
      // The hash travels in `metadata` (see #messages): computed once per subject.
      partitioner: (message) => (typeof message.metadata === 'number' ? message.metadata : 0),
    });
    this.#headers = headerMap(headers);
    this.#extraHeaders = headers;
    this.#maxRecords = maxRecordsPerRequest;
  }

  /** Sends `records` to `topic`, in requests the broker accepts; resolves when all are acknowledged. */
  async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    const partitions = this.#producer.currentMetadata?.topics.get(topic)?.partitionsCount ?? 1;
    for (const part of this.#requests(topic, records, partitions)) {
      await this.#producer.send({ messages: part });
    }
  }

  async close(): Promise<void> {
    await this.#producer.close(true);
  }

  /** The records as messages, cut into requests the broker accepts and one encoding need not hold the loop long for. */
  #requests(topic: string, records: readonly OutgoingRecord[], partitions: number): Generator<Message[]> {
    // Encoded as the requests are cut, one request at a time, not the whole send up front.
    const encode = this.#encode;
    const extra = this.#extraHeaders;
    const shared = this.#headers;
    const messages = (function* (): Generator<Message> {
      for (const r of records) {
        const { bytes: key, hash } = encode(r.key);
        yield { topic, key, value: toBuffer(r.value), headers: r.headers ? headerMap(extra, r.headers) : shared, metadata: hash };
      }
    })();
    return cutRequests(
      messages,
      (m) => (typeof m.metadata === 'number' ? m.metadata % partitions : 0),
      (m) => (m.key?.length ?? 0) + (m.value?.length ?? 0) + RECORD_OVERHEAD,
      { maxRecords: this.#maxRecords, maxPartitionBytes: MAX_PARTITION_BYTES },
    );
  }
}
