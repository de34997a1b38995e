import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { buildApiCallEvent } from '@tollgate/core/events';
import { DEAD_LETTER_REASON_HEADER, deadLetterTopicOf, KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { header, readTopic } from '@tollgate/testkit/read-topic';
import { waitFor } from '@tollgate/testkit/wait-for';

// An hour ago: inside the acceptance window the sink checks around each record's Kafka timestamp.
const T0 = Date.now() - 3_600_000;

let broker: KafkaBroker;
const clickhouse = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-sink-')) });
beforeAll(async () => {
  broker = await startKafka();
  await migrate(clickhouse);
}, 120_000);
afterAll(() => broker?.close());

const apiCall = (subject: string, n: number) =>
  JSON.stringify(
    buildApiCallEvent({
      source: 'sink-test',
      subject,
      timeMs: T0 + n,
      id: `${subject}-${n}`,
      data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 3, cost: 2, decision: 'debited' },
    }),
  );

const count = async (subject: string) => {
  const r = await clickhouse.query({
    query: `SELECT (SELECT count() FROM events WHERE subject = {s:String}) AS events,
                   (SELECT sum(cost) FROM usage_1m WHERE subject = {s:String}) AS cost`,
    query_params: { s: subject },
    format: 'JSONEachRow',
  });
  const [row] = await r.json<{ events: number | string; cost: number | string }>();
  return { events: Number(row?.events), cost: Number(row?.cost) };
};

describe('meter-sink against real Kafka and ClickHouse', () => {
  it('stores each event once, dead-letters malformed messages with the reason, and commits what it stored', async () => {
    const topic = `sink-${randomUUID()}`;
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'sink-test' });
    await kafka.ensureTopics(topic, 3);
    const subject = `tpp-${randomUUID()}`;
    const producer = kafka.producer();
    const valid = Array.from({ length: 1_000 }, (_, i) => ({ key: subject, value: apiCall(subject, i) }));
    const malformed = [
      { key: subject, value: 'not json at all' },
      { key: subject, value: JSON.stringify({ hello: 'not a cloud event' }) },
      { key: subject, value: apiCall(subject, 5_000).replace('"status_code":200', '"status_code":"200"') },
    ];
    // Every event twice (a duplicate emit), with malformed messages in between.
    await producer.send(topic, [...valid.slice(0, 500), ...malformed, ...valid, ...valid.slice(500)]);

    const sink = new KafkaMeterSink({ kafka, clickhouse, topic, groupId: `g-${topic}`, batchSize: 300, batchWaitMs: 100, logger: createLogger('sink', 'silent') });
    await sink.start();
    try {
      await waitFor(async () => (await count(subject)).events === 1_000, { timeoutMs: 60_000, what: '1,000 events stored' });
      await waitFor(
        async () => {
          const committed = await kafka.committedOffsets(`g-${topic}`, topic);
          const ends = await kafka.endOffsets(topic);
          return ends.every((e) => e.end === e.start || committed.get(e.partition) === e.end);
        },
        { timeoutMs: 30_000, what: 'offsets committed to the end' },
      );
      expect(await count(subject)).toEqual({ events: 1_000, cost: 2_000 });
    } finally {
      await sink.stop();
    }

    const dead = (await readTopic(kafka, deadLetterTopicOf(topic), (records) => records.length >= 3, 30_000)).map((r) => ({
      value: String(r.value),
      reason: header(r, DEAD_LETTER_REASON_HEADER),
    }));
    expect(dead).toEqual([
      { value: 'not json at all', reason: 'not JSON' },
      { value: JSON.stringify({ hello: 'not a cloud event' }), reason: 'specversion must be "1.0"' },
      { value: malformed[2]?.value, reason: 'data.status_code must be a non-negative integer' },
    ]);
    await producer.close();
    await kafka.close();
  }, 180_000);

  it('dead-letters events outside the acceptance window of their Kafka timestamp and an event ClickHouse refuses, each with its reason, and stores the rest', async () => {
    const topic = `sink-refusals-${randomUUID()}`;
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'sink-test' });
    await kafka.ensureTopics(topic, 1);
    const subject = `tpp-${randomUUID()}`;
    const at = (id: string, timeMs: number) =>
      JSON.stringify(
        buildApiCallEvent({
          source: 'sink-test',
          subject,
          timeMs,
          id,
          data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 3, cost: 2, decision: 'debited' },
        }),
      );
    // Finding 2's batch of many months: at the sink, the months past the window are refused one by one, not the batch.
    const old = Array.from({ length: 3 }, (_, i) => at(`${subject}-old-${i}`, Date.UTC(2017, i, 3)));
    const ahead = at(`${subject}-ahead`, Date.now() + 3_600_000);
    // A valid event that ClickHouse refuses on its own: here a CHECK an operator put on events.
    const poison = at('poison-9000', T0);
    await clickhouse.command({ query: "ALTER TABLE events ADD CONSTRAINT no_poison CHECK NOT startsWith(id, 'poison-')" });
    const producer = kafka.producer();
    await producer.send(topic, [...old, ahead, poison].map((value) => ({ key: subject, value })));
    await producer.send(topic, Array.from({ length: 10 }, (_, i) => ({ key: subject, value: apiCall(subject, i) })));

    const sink = new KafkaMeterSink({ kafka, clickhouse, topic, groupId: `g-${topic}`, batchSize: 500, batchWaitMs: 100, logger: createLogger('sink', 'silent') });
    await sink.start();
    try {
      await waitFor(async () => (await count(subject)).events === 10, { timeoutMs: 60_000, what: '10 events stored' });
    } finally {
      await sink.stop();
      await clickhouse.command({ query: 'ALTER TABLE events DROP CONSTRAINT no_poison' });
    }
    const dead = (await readTopic(kafka, deadLetterTopicOf(topic), (records) => records.length >= 5, 30_000)).map((r) => ({
      value: String(r.value),
      reason: header(r, DEAD_LETTER_REASON_HEADER),
    }));
    expect(dead).toEqual([
      ...old.map((value) => ({ value, reason: 'time must be at most 31 days before the event arrives' })),
      { value: ahead, reason: 'time must be at most 5 minutes after the event arrives' },
      { value: poison, reason: expect.stringMatching(/^ClickHouse refused the event \(code 469\): Constraint `no_poison` for table default.events is violated/) },
    ]);
    expect(await count(subject)).toEqual({ events: 10, cost: 20 });
    await producer.close();
    await kafka.close();
  }, 180_000);
});
