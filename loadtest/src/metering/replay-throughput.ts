import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@tollgate/core';
import { KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { startReplay, type ReplayProgress } from '@tollgate/quota-sidecar';
import { startKafka } from '@tollgate/testkit/kafka';
import { BATCH, PARTITIONS, produceEvents, sinkRate, storedEvents } from './bench-events.ts';
import { formatCount, formatRatio, reportTable, type ReportRow } from '../report/format.ts';

/**
 * A full replay of REPLAY_BENCH_EVENTS events (default 1,000,000): the sink stores them (its rate
 * is the baseline, measured in the same run on the same data), every event is deleted from
 * ClickHouse (events, and with it usage_1m), then the replay re-reads the topic and stores them again.
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

export const runReplayThroughput = async (total: number, log: (line: string) => void): Promise<ReplayThroughputResult> => {
  const broker = await startKafka({ numPartitions: PARTITIONS });
  const dir = mkdtempSync(join(tmpdir(), 'bench-replay-'));
  const ch = openClickHouse({ dataDir: dir });
  try {
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'bench' });
    const topic = 'bench-api-calls';
    await kafka.ensureTopics(topic, PARTITIONS);
    await migrate(ch);
    log(`producing ${formatCount(total)} events to ${PARTITIONS} partitions`);
    await produceEvents(kafka, topic, total);
    log('the sink (baseline)');
    const sinkEventsPerS = await sinkRate(kafka, ch, topic, total);

    // The per-minute usage and the keys the writer remembers are projections of events: they go with it.
    log('deleting every event from ClickHouse');
    await ch.command({ query: 'TRUNCATE TABLE events' });

    // The sink is stopped: the replay need not wait for its group.
    const replayAll = async () => {
      const t = performance.now();
      const p = await startReplay({ kafka, clickhouse: ch, topic, from: 0, batchSize: BATCH, sinkGroupId: null, logger: createLogger('bench', 'warn') }).done;
      if (p.state !== 'done') throw new Error(`replay failed: ${p.error ?? 'unknown'}`);
      return { p, rate: p.read / ((performance.now() - t) / 1000) };
    };
    log('full replay');
    const first = await replayAll();
    const stored = await storedEvents(ch);
    log('the same replay again (everything present)');
    const again = await replayAll();
    await kafka.close();
    return { events: total, partitions: PARTITIONS, sinkRate: sinkEventsPerS, replayRate: first.rate, replayAgainRate: again.rate, replay: first.p, again: again.p, stored };
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
