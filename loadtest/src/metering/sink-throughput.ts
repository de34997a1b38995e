import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { startKafka } from '@tollgate/testkit/kafka';
import { waitFor } from '@tollgate/testkit/wait-for';
import { BATCH, eventId, eventTimeMs, PARTITIONS, produceEvents, sinkRate, storedEvents } from './bench-events.ts';
import { InProcessProfile } from '../profile/in-process-profile.ts';
import { summarizeProfileFile } from '../profile/profile-dir.ts';
import { threadTimes, threadTimesSince } from '../profile/thread-cpu.ts';
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
  /** CPU time of this process (every thread: the sink's JavaScript and the embedded engine) per event of the sink's run. */
  sinkCpuUsPerEvent: number;
  /** The same CPU time by thread name (the JavaScript thread, V8's helpers, the engine's pools), µs per event. */
  sinkCpuByThread: { name: string; usPerEvent: number }[];
  /** The .cpuprofile of the sink's run (its JavaScript thread), when profiled. */
  profileFile?: string | undefined;
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

export interface SinkThroughputOptions {
  /** Writes a CPU profile of the sink's first run (sent once) to this file. */
  profileFile?: string | undefined;
}

export const runSinkThroughput = async (total: number, log: (line: string) => void, { profileFile }: SinkThroughputOptions = {}): Promise<SinkThroughputResult> => {
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
    const profile = profileFile ? new InProcessProfile() : undefined;
    await profile?.start();
    const cpuBefore = process.cpuUsage();
    const threadsBefore = threadTimes();
    const sinkEventsPerS = await sinkRate(kafka, ch, topic, total);
    const cpu = process.cpuUsage(cpuBefore);
    const byThread = threadTimesSince(threadsBefore).map((t) => ({ name: t.name, usPerEvent: (t.ms * 1000) / total }));
    if (profile && profileFile) await profile.stop(profileFile);
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
    return { events: total, partitions: PARTITIONS, batchSize: BATCH, produceRate, consumeCeiling: consume, insertCeiling: insert, sinkRate: sinkEventsPerS, stored, sinkCpuUsPerEvent: (cpu.user + cpu.system) / total, sinkCpuByThread: byThread, profileFile, twiceRate, twiceStored };
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

const USAGE = `node loadtest/src/metering/sink-throughput.ts [options]

Sink throughput, Kafka → ClickHouse (embedded), beside the consume and insert ceilings of the
same run, then the sink over a topic that carries every event twice.

options (flag, or environment variable):
  --events N        SINK_BENCH_EVENTS   events of each run (default 1,000,000)
  --profile FILE    SINK_BENCH_PROFILE  CPU-profile the sink's first run (its JavaScript thread)
                                        into FILE (.cpuprofile) and print where its time went
  --help                                this text`;

/** A few lines on where the profiled sink's JavaScript time went. */
const profileLines = (file: string, events: number): string[] => {
  const s = summarizeProfileFile(file);
  const us = (ms: number) => `${((ms * 1000) / events).toFixed(2)} µs/event`;
  const share = (x: { name: string; ms: number; share: number }) => `  ${(100 * x.share).toFixed(1).padStart(5)}%  ${us(x.ms).padStart(16)}  ${x.name}`;
  return [
    `profile ${file}: JavaScript thread busy ${us(s.busyMs)}, idle ${us(s.idleMs)}`,
    'own time by package:',
    ...s.selfByPackage.slice(0, 10).map(share),
    'functions by own time:',
    ...s.topSelf.slice(0, 25).map(share),
    'functions by inclusive time:',
    ...s.topInclusive.slice(0, 30).map(share),
  ];
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { events: { type: 'string' }, profile: { type: 'string' }, help: { type: 'boolean' } }, strict: true });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const rawEvents = values.events ?? process.env.SINK_BENCH_EVENTS ?? '1000000';
  if (!/^\d+$/.test(rawEvents) || Number(rawEvents) < 1) {
    console.error(`--events (SINK_BENCH_EVENTS) must be a positive integer, got "${rawEvents}"\n\n${USAGE}`);
    process.exit(2);
  }
  const total = Number(rawEvents);
  const profileFile = values.profile ?? (process.env.SINK_BENCH_PROFILE || undefined);
  const r = await runSinkThroughput(total, (l) => console.log(`  ${l}`), { profileFile });
  console.log(`\n${reportTable(sinkThroughputRows(r))}`);
  console.log(`produce rate ${formatCount(r.produceRate)}/s; the sink's process CPU ${r.sinkCpuUsPerEvent.toFixed(1)} µs/event (all threads)`);
  const threads = r.sinkCpuByThread.slice(0, 12).map((t) => `${t.name} ${t.usPerEvent.toFixed(1)}`);
  if (threads.length > 0) console.log(`  by thread, µs/event: ${threads.join('; ')}`);
  if (r.profileFile) console.log(profileLines(r.profileFile, total).join('\n'));
}
