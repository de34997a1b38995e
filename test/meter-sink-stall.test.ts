import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiCallEvent } from '@tollgate/core/events';
import { KafkaClient, SINK_GROUP_ID } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { startClickHouseFront, type ClickHouseFront } from '@tollgate/testkit/clickhouse-http';
import { freePort } from '@tollgate/testkit/free-port';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * Two meter-sink processes share a topic (real Kafka, one ClickHouse behind the HTTP front).
 * Under a steady stream, one of them is frozen with SIGSTOP past its session timeout, in the
 * middle of whatever it was doing (under this load, almost always a batch in hand: fetched,
 * being looked up or written, not committed); the other takes its partitions over and stores
 * on; then the frozen one is resumed with SIGCONT and carries on where it stopped. Three
 * rounds, alternating the victim. Every (source, id) must be in `events` once and counted once
 * in `usage_1m`. The writer before this change looked up the stored keys and inserted in two
 * statements: a freeze between them stored the victim's batch a second time.
 */
const SINK_MAIN = new URL('../meter-sink/src/main.ts', import.meta.url).pathname;
const SUBJECTS = 30;
const ROUNDS = 3;

let broker: KafkaBroker;
let front: ClickHouseFront;
beforeAll(async () => {
  [broker, front] = await Promise.all([startKafka(), startClickHouseFront()]);
}, 120_000);
afterAll(async () => {
  await broker?.close();
  await front?.stop();
});

interface Sink {
  child: ChildProcess;
  port: number;
  /** The partitions of its latest assignment, and that assignment's generation. */
  assigned: { partitions: number[]; generation: number };
}

const startSink = async (env: Record<string, string>): Promise<Sink> => {
  const port = await freePort();
  const child = spawn(process.execPath, [SINK_MAIN], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const sink: Sink = { child, port, assigned: { partitions: [], generation: -1 } };
  if (!child.stdout) throw new Error('the sink has no stdout');
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; partitions?: number[]; generation?: number };
      if (entry.msg === 'sink partitions assigned' && entry.partitions && entry.generation !== undefined) {
        sink.assigned = { partitions: entry.partitions, generation: entry.generation };
      }
    } catch {
      // not a log line of ours
    }
  });
  return sink;
};

const stopSink = async (sink: Sink) => {
  const { child } = sink;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGCONT');
  child.kill('SIGKILL');
  await exited;
};

const fencedWrites = async (sink: Sink): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${sink.port}/metrics`)).text();
  return Number(/^tollgate_event_writes_fenced_total\{writer="sink"\} (\d+)/m.exec(text)?.[1] ?? 0);
};

describe('a meter-sink frozen past its session timeout while another takes its partitions', () => {
  it('stores each event once, in events and in usage_1m', async () => {
    const topic = `stall-${randomUUID()}`;
    const source = `stall-${randomUUID()}`;
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'stall-test' });
    await kafka.ensureTopics(topic, 6);
    const clickhouse = openClickHouse({ url: front.url });
    await migrate(clickhouse);
    const stored = async () => {
      const r = await clickhouse.query({ query: 'SELECT count() AS n FROM events WHERE source = {s:String}', query_params: { s: source }, format: 'JSONEachRow' });
      return Number((await r.json<{ n: string | number }>())[0]?.n);
    };

    const env = {
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC: topic,
      CLICKHOUSE_URL: front.url,
      // Small batches: each sink writes often, so a freeze lands in a batch in hand.
      SINK_BATCH_SIZE: '200',
      SINK_BATCH_WAIT_MS: '50',
      SINK_SESSION_TIMEOUT_MS: '6000',
      LOG_LEVEL: 'info',
    };
    const sinks = [await startSink(env), await startSink(env)];

    // A steady stream for the whole test: 300 events every 100 ms until told to stop.
    const producer = kafka.producer();
    let produced = 0;
    let streaming = true;
    const event = (i: number) =>
      JSON.stringify(
        buildApiCallEvent({
          source,
          id: `e-${i}`,
          timeMs: Date.now(),
          subject: `tpp-${i % SUBJECTS}`,
          data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 2, cost: 3, decision: 'debited' },
        }),
      );
    const stream = (async () => {
      for (let n = 0; streaming && n < 6_000; n++) {
        await producer.send(topic, Array.from({ length: 300 }, (_, k) => ({ key: `tpp-${(produced + k) % SUBJECTS}`, value: event(produced + k) })));
        produced += 300;
        await new Promise((resolve) => setTimeout(resolve, 100)); // the stream's pace, not a wait for a condition
      }
    })();

    try {
      await waitFor(() => sinks.every((s) => s.assigned.partitions.length > 0), { timeoutMs: 60_000, what: 'both sinks assigned' });
      for (let round = 0; round < ROUNDS; round++) {
        const [victim, other] = round % 2 === 0 ? (sinks as [Sink, Sink]) : ([sinks[1], sinks[0]] as [Sink, Sink]);
        const before = await stored();
        await waitFor(async () => (await stored()) > before + 1_000, { timeoutMs: 60_000, what: `round ${round}: both sinks storing` });
        const generation = other.assigned.generation;
        victim.child.kill('SIGSTOP');
        // The other takes every partition over once the victim's session has timed out, and stores on.
        await waitFor(() => other.assigned.generation > generation && other.assigned.partitions.length === 6, {
          timeoutMs: 60_000,
          what: `round ${round}: the other sink holding all six partitions`,
        });
        const takenOver = await stored();
        await waitFor(async () => (await stored()) > takenOver + 1_000, { timeoutMs: 60_000, what: `round ${round}: the other sink storing alone` });
        const victimGeneration = victim.assigned.generation;
        victim.child.kill('SIGCONT');
        await waitFor(() => victim.assigned.generation > victimGeneration && victim.assigned.partitions.length > 0, {
          timeoutMs: 60_000,
          what: `round ${round}: the resumed sink back in the group`,
        });
      }
    } finally {
      streaming = false;
      await stream;
    }

    try {
      await waitFor(async () => (await stored()) >= produced, { timeoutMs: 120_000, intervalMs: 250, what: `${produced} events stored` });
      await waitFor(
        async () => {
          const [ends, committed] = await Promise.all([kafka.endOffsets(topic), kafka.committedOffsets(SINK_GROUP_ID, topic)]);
          return ends.every((e) => committed.get(e.partition) === e.end);
        },
        { timeoutMs: 60_000, what: 'the group committed to the end' },
      );
      const r = await clickhouse.query({
        query: `SELECT count() AS rows, uniqExact(id) AS ids,
                       (SELECT sum(events) FROM usage_1m WHERE subject LIKE 'tpp-%' AND type = 'api.call') AS counted,
                       (SELECT sum(cost) FROM usage_1m WHERE subject LIKE 'tpp-%' AND type = 'api.call') AS cost
                FROM events WHERE source = {s:String}`,
        query_params: { s: source },
        format: 'JSONEachRow',
      });
      const [row] = await r.json<Record<string, string | number>>();
      expect({ rows: Number(row?.rows), ids: Number(row?.ids), counted: Number(row?.counted), cost: Number(row?.cost) }).toEqual({
        rows: produced,
        ids: produced,
        counted: produced,
        cost: 3 * produced,
      });
      // How often a resumed sink found its claim superseded (the moment this test aims at).
      console.info(`stall test: ${produced} events, fenced writes per sink: ${(await Promise.all(sinks.map(fencedWrites))).join(', ')}`);
    } finally {
      await Promise.all(sinks.map(stopSink));
      await producer.close();
      await kafka.close();
      await clickhouse.close();
    }
  }, 600_000);
});
