import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { startKafka } from '@tollgate/testkit/kafka';
import { waitFor } from '@tollgate/testkit/wait-for';
import { BATCH, eventId, eventTimeMs, PARTITIONS, produceEvents, sinkRate, storedEvents } from './bench-events.ts';
import { formatCount, formatRatio, reportTable, type ReportRow } from '../report/format.ts';

/**
 * Sink throughput, Kafka → ClickHouse, over SINK_BENCH_EVENTS events (default 1,000,000), with
 * the gateway's kind of ids (UUIDv7), beside two ceilings measured in the same run on the same
 * data: the raw consume rate of the Kafka client (messages counted, nothing else) and the raw
 * insert rate into ClickHouse (the same rows, pre-built, inserted into events in the sink's
 * batch size, its views included). Then the sink again over a topic that carries every event
 * twice (the whole sequence, then all of it again: every lookup of the second half finds its
 * key), into a ClickHouse of its own: its rate counts messages taken.
 */
export interface SinkThroughputResult {
  events: number;
  partitions: number;
  batchSize: number;
  produceRate: number;
  consumeCeiling: number;
  insertCeiling: number;
  sinkRate: number;
  stored: number;
  /** Messages per second through the sink when every event came twice, and what it stored then. */
  twiceRate: number;
  twiceStored: number;
}

/** The sink's consumer-group runner with a handler that only counts: what the client can read. */
const consumeCeiling = async (kafka: KafkaClient, topic: string, total: number): Promise<number> => {
  let seen = 0;
  let started = 0;
  const group = kafka.consumerGroup({
    groupId: `ceiling-${topic}`,
    topic,
    maxWaitMs: 250,
    maxBatchRecords: BATCH,
    onBatch: async (batch) => {
      if (started === 0) started = performance.now();
      seen += batch.records.length;
      return true;
    },
  });
  await group.start();
  await waitFor(() => seen >= total, { timeoutMs: 600_000, intervalMs: 20, what: 'the consume ceiling run' });
  const rate = total / ((performance.now() - started) / 1000);
  await group.stop();
  return rate;
};

const insertCeiling = async (total: number): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-insert-'));
  const ch = openClickHouse({ dataDir: dir });
  await migrate(ch);
  const rows = (from: number, n: number) =>
    Array.from({ length: n }, (_, k) => {
      const i = from + k;
      return {
        source: 'bench',
        id: eventId(i),
        type: 'api.call',
        subject: `tpp-${i % 1_000}`,
        time: new Date(eventTimeMs(i)).toISOString().replace('T', ' ').replace('Z', ''),
        data: '{"endpoint":"/accounts","method":"GET","status_code":200,"response_time_ms":12,"cost":1,"decision":"debited"}',
        cost: 1,
        decision: 'debited',
      };
    });
  let elapsed = 0;
  for (let from = 0; from < total; from += BATCH) {
    const batch = rows(from, Math.min(BATCH, total - from)); // built outside the timed part
    const t = performance.now();
    await ch.insert({ table: 'events', format: 'JSONEachRow', values: batch });
    elapsed += performance.now() - t;
  }
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
  return total / (elapsed / 1000);
};

export const runSinkThroughput = async (total: number, log: (line: string) => void): Promise<SinkThroughputResult> => {
  const broker = await startKafka({ numPartitions: PARTITIONS });
  const dir = mkdtempSync(join(tmpdir(), 'bench-sink-'));
  const twiceDir = mkdtempSync(join(tmpdir(), 'bench-sink-twice-'));
  try {
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'bench' });
    const topic = 'bench-api-calls';
    await kafka.ensureTopics(topic, PARTITIONS);
    log(`producing ${formatCount(total)} events to ${PARTITIONS} partitions`);
    const produceRate = await produceEvents(kafka, topic, total);
    log(`consume ceiling (the sink's consumer, count only)`);
    const consume = await consumeCeiling(kafka, topic, total);
    log(`insert ceiling (ClickHouse, ${formatCount(BATCH)}-row JSONEachRow inserts)`);
    const insert = await insertCeiling(total);

    log('the sink');
    const ch = openClickHouse({ dataDir: dir });
    await migrate(ch);
    const sinkEventsPerS = await sinkRate(kafka, ch, topic, total);
    const stored = await storedEvents(ch);
    await ch.close();

    log(`the sink, every event twice (${formatCount(2 * total)} messages)`);
    const twiceTopic = 'bench-api-calls-twice';
    await kafka.ensureTopics(twiceTopic, PARTITIONS);
    await produceEvents(kafka, twiceTopic, total, 2);
    const twiceCh = openClickHouse({ dataDir: twiceDir });
    await migrate(twiceCh);
    const twiceRate = await sinkRate(kafka, twiceCh, twiceTopic, total, 2 * total);
    const twiceStored = await storedEvents(twiceCh);
    await twiceCh.close();
    await kafka.close();
    return { events: total, partitions: PARTITIONS, batchSize: BATCH, produceRate, consumeCeiling: consume, insertCeiling: insert, sinkRate: sinkEventsPerS, stored, twiceRate, twiceStored };
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(twiceDir, { recursive: true, force: true });
  }
};

export const sinkThroughputRows = (r: SinkThroughputResult): ReportRow[] => [
  {
    scenario: `sink throughput (${formatCount(r.events)} events)`,
    measure: 'events/s, Kafka → ClickHouse',
    baseline: `consume ceiling ${formatCount(r.consumeCeiling)}/s; insert ceiling ${formatCount(r.insertCeiling)}/s`,
    system: `${formatCount(r.sinkRate)} events/s (${formatCount(r.stored)} stored)`,
    comparison: `${formatRatio(r.sinkRate / r.consumeCeiling)} of consume, ${formatRatio(r.sinkRate / r.insertCeiling)} of insert`,
    target: '≥ 60,000/s',
    verdict: r.sinkRate >= 60_000 && r.stored === r.events ? 'pass' : 'MISS',
  },
  {
    scenario: `sink throughput, every event twice (${formatCount(2 * r.events)} messages)`,
    measure: 'messages/s, Kafka → ClickHouse',
    baseline: `consume ceiling ${formatCount(r.consumeCeiling)}/s; insert ceiling ${formatCount(r.insertCeiling)}/s`,
    system: `${formatCount(r.twiceRate)} messages/s (${formatCount(r.twiceStored)} stored)`,
    comparison: `${formatRatio(r.twiceRate / r.sinkRate)} of the sink's rate on events sent once`,
    target: '≥ 60,000/s, each event stored once',
    verdict: r.twiceRate >= 60_000 && r.twiceStored === r.events ? 'pass' : 'MISS',
  },
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const total = Number(process.env.SINK_BENCH_EVENTS ?? 1_000_000);
  const r = await runSinkThroughput(total, (l) => console.log(`  ${l}`));
  console.log(`\n${reportTable(sinkThroughputRows(r))}`);
  console.log(`produce rate ${formatCount(r.produceRate)}/s`);
}
