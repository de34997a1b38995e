import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiCallEvent } from '@tollgate/core/events';
import { KafkaClient } from '@tollgate/core/kafka';
import { openClickHouse, migrate } from '@tollgate/core/clickhouse';
import { startClickHouseFront, type ClickHouseFront } from '@tollgate/testkit/clickhouse-http';
import { freePort } from '@tollgate/testkit/free-port';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { waitFor } from '@tollgate/testkit/wait-for';

// An hour ago: inside the acceptance window the sink checks around each record's Kafka timestamp.
const T0 = Date.now() - 3_600_000;

const SINK_MAIN = new URL('../meter-sink/src/main.ts', import.meta.url).pathname;
const TOTAL = 100_000;

let broker: KafkaBroker;
let front: ClickHouseFront;
beforeAll(async () => {
  [broker, front] = await Promise.all([startKafka(), startClickHouseFront()]);
}, 120_000);
afterAll(async () => {
  await broker?.close();
  await front?.stop();
});

const event = (i: number) =>
  JSON.stringify(
    buildApiCallEvent({
      source: 'crash-test',
      id: `e-${i}`,
      timeMs: T0 + i * 10,
      subject: `tpp-${i % 50}`,
      data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 2, cost: 1, decision: 'debited' },
    }),
  );

describe('meter-sink killed with SIGKILL while 100,000 events stream', () => {
  it('ends with exactly 100,000 events in ClickHouse, each counted once in usage_1m', async () => {
    const topic = `crash-${randomUUID()}`;
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'crash-test' });
    await kafka.ensureTopics(topic, 6);
    const clickhouse = openClickHouse({ url: front.url });
    await migrate(clickhouse);

    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC: topic,
      CLICKHOUSE_URL: front.url,
      SINK_BATCH_SIZE: '2000',
      SINK_BATCH_WAIT_MS: '100',
      SINK_SESSION_TIMEOUT_MS: '6000',
      LOG_LEVEL: 'error',
    };
    let sink: ChildProcess | undefined;
    const startSink = () => {
      sink = spawn(process.execPath, [SINK_MAIN], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    };
    const killSink = async () => {
      const s = sink;
      if (!s || s.exitCode !== null || s.signalCode !== null) return;
      const exited = new Promise((r) => s.once('exit', r));
      s.kill('SIGKILL');
      await exited;
    };
    const stored = async () => {
      const r = await clickhouse.query({ query: 'SELECT count() AS n FROM events WHERE source = {s:String}', query_params: { s: 'crash-test' }, format: 'JSONEachRow' });
      return Number((await r.json<{ n: string | number }>())[0]?.n);
    };

    // Stream the events in while the sink runs, and kill it at random points.
    const producer = kafka.producer();
    const producing = (async () => {
      for (let from = 0; from < TOTAL; from += 5_000) {
        await producer.send(topic, Array.from({ length: 5_000 }, (_, k) => ({ key: `tpp-${(from + k) % 50}`, value: event(from + k) })));
      }
    })();
    startSink();
    const kills: number[] = [];
    for (let k = 0; k < 4; k++) {
      const target = Math.floor(((k + 1) * TOTAL) / 6 + Math.random() * (TOTAL / 12));
      await waitFor(async () => (await stored()) >= target || sink?.exitCode !== null, { timeoutMs: 120_000, intervalMs: 50, what: `${target} events stored` });
      await killSink();
      kills.push(await stored());
      startSink();
    }
    await producing;
    await producer.close();

    try {
      await waitFor(async () => (await stored()) >= TOTAL, { timeoutMs: 180_000, intervalMs: 250, what: `${TOTAL} events stored` });
      // Stored exactly once: no more arrive (the last batches were committed), none twice.
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, { timeoutMs: 30_000, what: 'sink ready with no lag' });
      expect(await stored()).toBe(TOTAL);
      const r = await clickhouse.query({
        query: `SELECT uniqExact(id) AS ids, (SELECT sum(cost) FROM usage_1m WHERE subject LIKE 'tpp-%') AS cost FROM events WHERE source = 'crash-test'`,
        format: 'JSONEachRow',
      });
      const [row] = await r.json<{ ids: string | number; cost: string | number }>();
      expect({ ids: Number(row?.ids), cost: Number(row?.cost) }).toEqual({ ids: TOTAL, cost: TOTAL });
      expect(kills.length).toBe(4);
      expect(kills.every((n) => n < TOTAL)).toBe(true); // every kill landed mid-stream
    } finally {
      await killSink();
      await clickhouse.close();
      await kafka.close();
    }
  }, 480_000);
});
