/**
 * Tollgate's Kafka API. Only the files of this folder know the client library
 * (@platformatic/kafka); everything else speaks in topics, keys, partitions and offsets.
 *
 *   const kafka = new KafkaClient({ brokers, clientId });
 *
 * - `kafka.producer()` → KeyedProducer: idempotent, acks=all, key (subject) → partition by
 *   Java's murmur2 partitioner, so every subject keeps the partition kafkajs gave it.
 *   `send(topic, [{ key, value, headers? }])` resolves when every record is acknowledged.
 * - `kafka.consumerGroup({ groupId, topic, onBatch, … })` → ConsumerGroup: per-partition
 *   batches in offset order (`PartitionBatch`: records, `generation`, `nextOffset`), manual
 *   commits (`commit(batch)`), and the fence `owns(partition, generation)` — a cheap, local
 *   check to make just before a write: false once the partition moved to another member, a
 *   rebalance took it away, or this process has not heard from the coordinator for nearly a
 *   session timeout (it was paused or cut off). `stop()` stops fetching, lets the batches in
 *   hand finish and leaves the group; handlers watch `stopping` (an AbortSignal).
 * - Admin helpers on the client: `ensureTopics(topic, partitions)` (with `<topic>.dlq`),
 *   `endOffsets(topic)`, `committedOffsets(groupId, topic)`, `offsetsAt(topic, timeMs)`,
 *   `deleteGroups(ids)`. `close()` closes the admin connection.
 */
export { KafkaClient } from './kafka-client.ts';
export { PATIENT, type KafkaConnection, type RetryPolicy } from './connection.ts';
export { KeyedProducer, type OutgoingRecord } from './keyed-producer.ts';
export { ConsumerGroup, type ConsumerGroupOptions } from './consumer-group.ts';
export type { IncomingRecord, PartitionBatch } from './fetch-batches.ts';
export { deadLetterTopicOf, type PartitionRange } from './kafka-admin.ts';
export { partitionOf } from './keyed-partitioner.ts';
export { CLOUDEVENTS_CONTENT_TYPE, DEAD_LETTER_REASON_HEADER, SINK_GROUP_ID } from './messages.ts';
