import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, ensureTopics, migrate, openClickHouse, openKafka, startReplay, type ReplayProgress } from '@tollgate/core';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { startKafka } from '../../../test/harness/kafka.ts';
import { waitFor } from '../../../test/harness/wait-for.ts';
import { formatCount, formatRatio, reportTable, type ReportRow } from '../report/format.ts';

/**
 * A full replay of REPLAY_BENCH_EVENTS events (default 1,000,000): the sink stores them (its rate
 * is the baseline, measured in the same run on the same data), every event is deleted from
 * ClickHouse (events and usage_1m), then the replay re-reads the topic and stores them again.
 * A second replay, with everything present, measures the duplicate-detection path alone.
 */
export interface ReplayThroughputResult {
  events: number;
  partitions: number;
  sinkRate: number;
  replayRate: number;
  replayAgainRate: number;
  replay: ReplayProgress;
  again: ReplayProgress;
  stored: number;
}

const PARTITIONS = 6;
const BATCH = 10_000;
const SUBJECTS = 1_000;

const eventJson = (i: number) =>
  JSON.stringify({
    specversion: '1.0',
    type: 'api.call',
    source: 'bench',
    id: `bench-${i}`,
    time: new Date(Date.UTC(2026, 0, 15) + i).toISOString(),
    subject: `tpp-${i % SUBJECTS}`,
    datacontenttype: 'application/json',
    data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 12, cost: 1, decision: 'debited' },
  });

export const runReplayThroughput = async (total: number, log: (line: string) => void): Promise<ReplayThroughputResult> => {
  const broker = await startKafka({ numPartitions: PARTITIONS });
  const dir = mkdtempSync(join(tmpdir(), 'bench-replay-'));
  const ch = openClickHouse({ dataDir: dir });
  try {
    const kafka = openKafka([broker.brokers], 'bench');
    const topic = 'bench-api-calls';
    await ensureTopics(kafka, topic, PARTITIONS);
    await migrate(ch);
    log(`producing ${formatCount(total)} events to ${PARTITIONS} partitions`);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let from = 0; from < total; from += 2_000) {
      const n = Math.min(2_000, total - from);
      await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, k) => ({ key: `tpp-${(from + k) % SUBJECTS}`, value: eventJson(from + k) })) });
    }
    await producer.disconnect();

    const count = async () => Number((await (await ch.query({ query: 'SELECT count() AS n FROM events', format: 'JSONEachRow' })).json<{ n: string | number }>())[0]?.n);
    log('the sink (baseline)');
    const sink = new KafkaMeterSink({ kafka, clickhouse: ch, topic, groupId: 'bench-sink', batchSize: BATCH, batchWaitMs: 250, logger: createLogger('bench', 'warn') });
    let started = performance.now();
    await sink.start();
    await waitFor(async () => (await count()) >= total, { timeoutMs: 900_000, intervalMs: 100, what: 'the sink to store every event' });
    const sinkRate = total / ((performance.now() - started) / 1000);
    await sink.stop();

    log('deleting every event from ClickHouse (events and usage_1m)');
    await ch.command({ query: 'TRUNCATE TABLE events' });
    await ch.command({ query: 'TRUNCATE TABLE usage_1m' });

    // The sink is stopped: the replay need not wait for its group.
    const replayAll = async () => {
      const t = performance.now();
      const p = await startReplay({ kafka, clickhouse: ch, topic, from: 0, batchSize: BATCH, sinkGroupId: null, logger: createLogger('bench', 'warn') }).done;
      if (p.state !== 'done') throw new Error(`replay failed: ${p.error ?? 'unknown'}`);
      return { p, rate: p.read / ((performance.now() - t) / 1000) };
    };
    log('full replay');
    started = performance.now();
    const first = await replayAll();
    const stored = await count();
    log('the same replay again (everything present)');
    const again = await replayAll();
    return { events: total, partitions: PARTITIONS, sinkRate, replayRate: first.rate, replayAgainRate: again.rate, replay: first.p, again: again.p, stored };
  } finally {
    await ch.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

export const replayThroughputRows = (r: ReplayThroughputResult): ReportRow[] => [
  {
    scenario: `full replay (${formatCount(r.events)} events)`,
    measure: 'events/s, Kafka → ClickHouse, all missing',
    baseline: `sink ${formatCount(r.sinkRate)}/s`,
    system: `${formatCount(r.replayRate)} events/s (${formatCount(r.replay.inserted)} inserted, ${formatCount(r.stored)} stored)`,
    comparison: `${formatRatio(r.replayRate / r.sinkRate)} of the sink`,
    target: 'restores every event',
    verdict: r.replay.inserted === r.events && r.stored === r.events ? 'pass' : 'MISS',
  },
  {
    scenario: `replay again (${formatCount(r.events)} events)`,
    measure: 'events/s, all already present',
    baseline: `sink ${formatCount(r.sinkRate)}/s`,
    system: `${formatCount(r.replayAgainRate)} events/s (${formatCount(r.again.alreadyPresent)} already present)`,
    comparison: `${formatRatio(r.replayAgainRate / r.sinkRate)} of the sink`,
    target: 'inserts nothing',
    verdict: r.again.inserted === 0 && r.again.alreadyPresent === r.events ? 'pass' : 'MISS',
  },
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const total = Number(process.env.REPLAY_BENCH_EVENTS ?? 1_000_000);
  const r = await runReplayThroughput(total, (l) => console.log(`  ${l}`));
  console.log(`\n${reportTable(replayThroughputRows(r))}`);
}
