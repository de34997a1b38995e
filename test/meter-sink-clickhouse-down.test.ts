import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { buildApiCallEvent } from '@tollgate/core/events';
import { KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { startClickHouseFront, type ClickHouseFront } from '@tollgate/testkit/clickhouse-http';
import { freePort } from '@tollgate/testkit/free-port';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { waitFor } from '@tollgate/testkit/wait-for';

// An hour ago: inside the acceptance window the sink checks around each record's Kafka timestamp.
const T0 = Date.now() - 3_600_000;

let broker: KafkaBroker;
let front: ClickHouseFront;
let port: number;
const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-chdown-'));
beforeAll(async () => {
  port = await freePort();
  [broker, front] = await Promise.all([startKafka(), startClickHouseFront({ dataDir, port })]);
}, 120_000);
afterAll(async () => {
  await broker?.close();
  await front?.stop();
});

const event = (i: number) =>
  JSON.stringify(
    buildApiCallEvent({
      source: 'ch-down-test',
      id: `e-${i}`,
      timeMs: T0 + i,
      subject: 'tpp-down',
      data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 2, cost: 1, decision: 'debited' },
    }),
  );

describe('meter-sink while ClickHouse is unreachable', () => {
  it('commits nothing past what was stored, is not ready, and catches up by itself', async () => {
    const topic = `chdown-${randomUUID()}`;
    const groupId = `g-${topic}`;
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'ch-down-test' });
    await kafka.ensureTopics(topic, 1);
    const clickhouse = openClickHouse({ url: front.url });
    await migrate(clickhouse);
    const count = async () => {
      const r = await clickhouse.query({ query: "SELECT count() AS n FROM events WHERE source = 'ch-down-test'", format: 'JSONEachRow' });
      return Number((await r.json<{ n: string | number }>())[0]?.n);
    };
    const committed = async () => Number((await kafka.committedOffsets(groupId, topic)).get(0) ?? -1);
    const producer = kafka.producer();
    const send = (from: number, n: number) => producer.send(topic, Array.from({ length: n }, (_, k) => ({ key: 'tpp-down', value: event(from + k) })));

    const sinkClient = openClickHouse({ url: front.url });
    const sink = new KafkaMeterSink({ kafka, clickhouse: sinkClient, topic, groupId, batchSize: 100, batchWaitMs: 50, lagIntervalMs: 200, logger: createLogger('sink', 'silent') });
    await sink.start();
    try {
      await send(0, 500);
      await waitFor(async () => (await count()) === 500 && (await committed()) === 500, { timeoutMs: 30_000, what: 'first 500 stored and committed' });
      expect(sink.readiness.ready).toBe(true);

      await front.stop();
      await send(500, 500);
      await waitFor(() => !sink.readiness.ready, { timeoutMs: 30_000, what: 'sink not ready while ClickHouse is down' });
      // The reason names ClickHouse's answer (here: nobody listens).
      expect(sink.readiness.reasons).toEqual([expect.stringMatching(/^ClickHouse is refusing writes: .*ECONNREFUSED/)]);
      // Down for a while: nothing is committed past what was stored.
      const deadline = Date.now() + 3_000;
      while (Date.now() < deadline) {
        expect(await committed()).toBe(500);
        await new Promise((r) => setTimeout(r, 250)); // observing a steady state over time, not waiting for one
      }

      front = await startClickHouseFront({ dataDir, port });
      await waitFor(async () => (await count()) === 1_000 && (await committed()) === 1_000, { timeoutMs: 60_000, what: 'caught up after ClickHouse returned' });
      await waitFor(() => sink.readiness.ready, { timeoutMs: 10_000, what: 'ready again' });
      expect(await count()).toBe(1_000);
    } finally {
      await sink.stop();
      await producer.close();
      await kafka.close();
      await sinkClient.close();
      await clickhouse.close();
    }
  }, 180_000);
});
