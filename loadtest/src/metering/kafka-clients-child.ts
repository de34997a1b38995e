import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { KafkaClient } from '@tollgate/core/kafka';
import { clientBenchEvent, type ClientName } from './kafka-clients-events.ts';

/**
 * One measurement of one Kafka client, in a process of its own (so that each client's JIT,
 * heap and CPU time are its own), printed as one JSON line:
 *   kafka-clients-child.ts produce-rate   <client> <brokers> <topic> <rate/s> <seconds>
 *   kafka-clients-child.ts produce-max    <client> <brokers> <topic> <seconds>
 *   kafka-clients-child.ts consume        <client> <brokers> <topic> <messages>
 *   kafka-clients-child.ts produce-batches <client> <brokers> <topic> <batch> <messages>
 * Clients: `kafkajs` (2.2.4, the previous client), `tollgate` (core/src/kafka over
 * @platformatic/kafka) and `none` (builds the same events and sends nothing: the harness's own
 * cost). Producers are idempotent with acks=all and Java's murmur2 partitioner.
 */

/** Largest batch per send at saturation, and what the 5 ms linger may gather at a fixed rate. */
const MAX_BATCH = 5_000;
const LINGER_MS = 5;

type Send = (records: { key: string; value: string }[]) => Promise<void>;

const openProducer = async (client: ClientName, brokers: string, topic: string): Promise<{ send: Send; close: () => Promise<void> }> => {
  if (client === 'none') return { send: async () => undefined, close: async () => undefined };
  if (client === 'kafkajs') {
    const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: [brokers], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    return {
      send: async (records) => {
        await producer.send({ topic, acks: -1, messages: records });
      },
      close: () => producer.disconnect(),
    };
  }
  const producer = new KafkaClient({ brokers: [brokers], clientId: 'bench-tollgate' }).producer();
  return { send: (records) => producer.send(topic, records), close: () => producer.close() };
};

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Events at `rate`/s for `seconds`, sent in batches that linger at most 5 ms (or wait for the send before). */
const produceAtRate = async (send: Send, rate: number, seconds: number) => {
  let next = 0;
  let buffer: { key: string; value: string }[] = [];
  let firstAt = 0;
  let sending: Promise<void> | undefined;
  const total = rate * seconds;
  const cpu = cpuUs();
  const started = performance.now();
  while (next < total || buffer.length > 0 || sending) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; next < due; next++) {
      if (buffer.length === 0) firstAt = performance.now();
      buffer.push(clientBenchEvent(next));
    }
    if (!sending && buffer.length > 0 && (performance.now() - firstAt >= LINGER_MS || buffer.length >= MAX_BATCH || next >= total)) {
      const batch = buffer;
      buffer = [];
      sending = send(batch).finally(() => (sending = undefined));
    }
    await new Promise((resolve) => setTimeout(resolve, 1)); // the generator's clock tick
  }
  return { messages: total, cpuUs: cpuUs() - cpu, seconds: (performance.now() - started) / 1000 };
};

/** Batches of MAX_BATCH events, one send after the other, for `seconds`. */
const produceMax = async (send: Send, seconds: number) => {
  let n = 0;
  const cpu = cpuUs();
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const batch = Array.from({ length: MAX_BATCH }, (_, k) => clientBenchEvent(n + k));
    await send(batch);
    n += MAX_BATCH;
  }
  return { messages: n, cpuUs: cpuUs() - cpu, seconds: (performance.now() - started) / 1000 };
};

/** `total` events in sends of `size` each, one send after the other: the cost per message at one batch size. */
const produceBatches = async (send: Send, size: number, total: number) => {
  const cpu = cpuUs();
  const started = performance.now();
  for (let n = 0; n < total; n += size) await send(Array.from({ length: Math.min(size, total - n) }, (_, k) => clientBenchEvent(n + k)));
  return { messages: total, cpuUs: cpuUs() - cpu, seconds: (performance.now() - started) / 1000, sends: Math.ceil(total / size) };
};

/**
 * Reads `count` messages from the beginning in a fresh group, counting them and nothing else.
 * CPU time counts from before the consumer starts (joining costs little); the rate counts from
 * the moment the group gave it its partitions, so neither includes the group's join delay, and
 * both include the decoding of the first fetch.
 */
const consume = async (client: ClientName, brokers: string, topic: string, count: number) => {
  let seen = 0;
  let joinedAt = 0;
  const groupId = `bench-${client}-${randomUUID()}`;
  const cpu = cpuUs();
  let stop: () => Promise<void>;
  if (client === 'kafkajs') {
    const consumer = new Kafka({ clientId: 'bench-kafkajs', brokers: [brokers], logLevel: logLevel.NOTHING }).consumer({ groupId, maxBytesPerPartition: 16 * 1024 * 1024, maxWaitTimeInMs: 250 });
    consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt = performance.now()));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ partitionsConsumedConcurrently: 3, eachBatch: async ({ batch }) => void (seen += batch.messages.length) });
    stop = () => consumer.disconnect();
  } else {
    const group = new KafkaClient({ brokers: [brokers], clientId: 'bench-tollgate' }).consumerGroup({
      groupId,
      topic,
      maxWaitMs: 250,
      onAssignment: () => (joinedAt = performance.now()),
      onBatch: async (batch) => {
        seen += batch.records.length;
        return true;
      },
    });
    await group.start();
    stop = () => group.stop();
  }
  const deadline = Date.now() + 600_000;
  while (seen < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  const result = { messages: seen, cpuUs: cpuUs() - cpu, seconds: (performance.now() - joinedAt) / 1000 };
  await stop();
  return result;
};

const [mode, client, brokers, topic, a, b] = process.argv.slice(2) as [string, ClientName, string, string, string, string?];
const producer = mode === 'consume' ? undefined : await openProducer(client, brokers, topic);
if (producer) await producer.send(Array.from({ length: 2_000 }, (_, k) => clientBenchEvent(k))); // connect and warm up
const result =
  mode === 'produce-rate' && producer
    ? await produceAtRate(producer.send, Number(a), Number(b))
    : mode === 'produce-max' && producer
      ? await produceMax(producer.send, Number(a))
      : mode === 'produce-batches' && producer
        ? await produceBatches(producer.send, Number(a), Number(b))
        : await consume(client, brokers, topic, Number(a));
await producer?.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
