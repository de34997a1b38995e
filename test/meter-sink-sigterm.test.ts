import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiCallEvent } from '@tollgate/core/events';
import { KafkaClient, SINK_GROUP_ID } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { startClickHouseFront, type ClickHouseFront } from '@tollgate/testkit/clickhouse-http';
import { freePort } from '@tollgate/testkit/free-port';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { spawnService, untilReady } from '@tollgate/testkit/service-process';
import { waitFor } from '@tollgate/testkit/wait-for';

// An hour ago: inside the acceptance window the sink checks around each record's Kafka timestamp.
const T0 = Date.now() - 3_600_000;

/**
 * SIGTERM of a meter-sink process in the middle of a large backlog: it stores and commits the
 * batches it holds (full batches, not a trickle), fetches nothing more, leaves the group and
 * exits promptly; everything it stored is committed and nothing past it, so the next sink
 * carries on exactly where it stopped and every event is stored once.
 */
const TOTAL = 120_000;
const BATCH = 5_000;
/** Partitions the sink writes side by side: the most batches it may hold when told to stop. */
const CONCURRENCY = 3;

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
      source: 'sigterm-test',
      id: `e-${i}`,
      timeMs: T0 + i,
      subject: `tpp-${i % 60}`,
      data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 2, cost: 1, decision: 'debited' },
    }),
  );

describe('meter-sink stopped with SIGTERM under a backlog', () => {
  it('commits exactly what it stored, stops fetching, exits promptly, and the next sink finishes the rest once', async () => {
    const topic = `sigterm-${randomUUID()}`;
    const groupId = SINK_GROUP_ID; // the sink process's group
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'sigterm-test' });
    await kafka.ensureTopics(topic, 6);
    const clickhouse = openClickHouse({ url: front.url });
    await migrate(clickhouse);
    const producer = kafka.producer();
    for (let from = 0; from < TOTAL; from += 10_000) {
      await producer.send(topic, Array.from({ length: 10_000 }, (_, k) => ({ key: `tpp-${(from + k) % 60}`, value: event(from + k) })));
    }
    await producer.close();
    const stored = async () => {
      const r = await clickhouse.query({ query: "SELECT count() AS n, uniqExact(id) AS ids FROM events WHERE source = 'sigterm-test'", format: 'JSONEachRow' });
      const [row] = await r.json<{ n: string | number; ids: string | number }>();
      return { n: Number(row?.n), ids: Number(row?.ids) };
    };
    const committed = async () => [...(await kafka.committedOffsets(groupId, topic)).values()].reduce((sum, o) => sum + Number(o), 0);

    const sink = async () => {
      const port = String(await freePort());
      return {
        port,
        process: spawnService(process.execPath, ['meter-sink/src/main.ts'], {
          PORT: port,
          KAFKA_BROKERS: broker.brokers,
          KAFKA_TOPIC: topic,
          CLICKHOUSE_URL: front.url,
          SINK_BATCH_SIZE: String(BATCH),
          SINK_BATCH_WAIT_MS: '100',
          SINK_SESSION_TIMEOUT_MS: '6000',
          LOG_LEVEL: 'warn',
        }),
      };
    };

    try {
      const first = await sink();
      await untilReady(first.process, `http://127.0.0.1:${first.port}/healthz`);
      await waitFor(async () => (await stored()).n >= 3 * BATCH, { timeoutMs: 120_000, intervalMs: 20, what: 'the sink under way' });
      const atSignal = (await stored()).n;
      const signalled = Date.now();
      expect(await first.process.stop('SIGTERM')).toBe(0);
      const stopMs = Date.now() - signalled;
      const afterStop = await stored();
      expect(afterStop.n).toBeLessThan(TOTAL); // stopped mid-backlog
      // It finished the batches it held, and took nothing new.
      expect(afterStop.n - atSignal).toBeLessThanOrEqual(CONCURRENCY * BATCH);
      // What it stored is exactly what it committed: no stored batch left uncommitted, nothing committed unstored.
      expect(await committed()).toBe(afterStop.n);
      expect(afterStop.ids).toBe(afterStop.n);
      expect(stopMs).toBeLessThan(15_000);
      expect(first.process.stderr()).not.toMatch(/"level":"error"/);

      const second = await sink();
      await untilReady(second.process, `http://127.0.0.1:${second.port}/healthz`);
      await waitFor(async () => (await stored()).n >= TOTAL && (await committed()) === TOTAL, { timeoutMs: 180_000, intervalMs: 250, what: 'the rest stored by the next sink' });
      expect(await second.process.stop('SIGTERM')).toBe(0);
      expect(await stored()).toEqual({ n: TOTAL, ids: TOTAL });
    } finally {
      await clickhouse.close();
      await kafka.close();
    }
  }, 420_000);
});
