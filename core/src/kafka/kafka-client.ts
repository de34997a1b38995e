import { Admin } from '@platformatic/kafka';
import { clientOptions, PATIENT, type KafkaConnection, type RetryPolicy } from './connection.ts';
import { ConsumerGroup, type ConsumerGroupOptions } from './consumer-group.ts';
import { committedOffsets, deleteGroups, endOffsets, ensureTopics, offsetsAt, probe, type PartitionRange } from './kafka-admin.ts';
import { KeyedProducer, type KeyedProducerOptions } from './keyed-producer.ts';

/**
 * One process's access to one Kafka cluster. Creating it opens nothing; the admin connection
 * is opened on the first admin call and kept until `close`. Producers and consumer groups it
 * creates have their own connections and are closed by their owner.
 */
export class KafkaClient implements KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly #adminRetry: RetryPolicy;
  #admin: Admin | undefined;

  /** `adminRetry`: how hard admin calls try before failing (default PATIENT). */
  constructor({ brokers, clientId, adminRetry = PATIENT }: KafkaConnection & { adminRetry?: RetryPolicy }) {
    this.brokers = brokers;
    this.clientId = clientId;
    this.#adminRetry = adminRetry;
  }

  /** An idempotent, acks=all, keyed producer. `retry` defaults to PATIENT. */
  producer(options: Partial<KeyedProducerOptions> = {}): KeyedProducer {
    return new KeyedProducer(this, { ...options, retry: options.retry ?? PATIENT });
  }

  consumerGroup(options: ConsumerGroupOptions): ConsumerGroup {
    return new ConsumerGroup(this, options);
  }

  /** Creates `topic` (with `partitions`) and `<topic>.dlq` when missing; waits for their leaders. */
  ensureTopics(topic: string, partitions: number): Promise<void> {
    return ensureTopics(this.#adminClient(), topic, partitions);
  }

  /** Per partition: the first readable offset and the end offset (the next record's offset). */
  endOffsets(topic: string): Promise<PartitionRange[]> {
    return endOffsets(this.#adminClient(), topic);
  }

  /** The next offset `groupId` will read, per partition it committed on (absent: none committed). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>> {
    return committedOffsets(this.#adminClient(), groupId, topic);
  }

  /** Per partition, the first offset whose record is at or after `timeMs` (the end offset if none). */
  offsetsAt(topic: string, timeMs: number): Promise<Map<number, bigint>> {
    return offsetsAt(this.#adminClient(), topic, timeMs);
  }

  /** Resolves once a broker answers and the group coordinator serves offsets (it loads for a while after a restart). */
  probe(): Promise<void> {
    return probe(this.#adminClient());
  }

  deleteGroups(groupIds: string[]): Promise<void> {
    return deleteGroups(this.#adminClient(), groupIds);
  }

  /** Closes the admin connection (producers and groups are closed by whoever created them). */
  async close(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    await admin?.close();
  }

  #adminClient(): Admin {
    this.#admin ??= new Admin(clientOptions(this, this.#adminRetry, 'admin'));
    return this.#admin;
  }
}
