import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@tollgate/core';
import { buildApiCallEvent } from '@tollgate/core/events';
import { DiskSpool, KafkaEmitter } from '@tollgate/core/event-path';
import { KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { parseMeters, queryMeter } from '@tollgate/core/meters';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { startKafka } from '@tollgate/testkit/kafka';
import { waitFor } from '@tollgate/testkit/wait-for';
import { formatCount, formatMs, reportTable, type ReportRow } from '../report/format.ts';
import { BATCH } from './bench-events.ts';

/**
 * Freshness: events emitted through the production producer path (Kafka emitter) at a steady
 * rate, carried by the meter-sink into ClickHouse; for each event, the time from its `time`
 * to the moment ClickHouse stored it (`ingested_at`, set by the server on insert: from then on
 * the meter query, which reads the same table, counts it). The meter query is run at the end
 * and must count every event.
 */
export interface FreshnessResult {
  rate: number;
  seconds: number;
  events: number;
  counted: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

export const runFreshness = async (rate: number, seconds: number, log: (line: string) => void): Promise<FreshnessResult> => {
  const broker = await startKafka({ numPartitions: 6 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-fresh-'));
  try {
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'bench-fresh' });
    const topic = 'fresh-api-calls';
    await kafka.ensureTopics(topic, 6);
    const ch = openClickHouse({ dataDir: join(dir, 'ch') });
    await migrate(ch);
    const logger = createLogger('bench', 'warn');
    const emitter = new KafkaEmitter({ kafka, topic, spool: new DiskSpool({ dir: join(dir, 'spool'), maxBytes: 1024 ** 3 }), logger });
    await emitter.start();
    const sink = new KafkaMeterSink({ kafka, clickhouse: ch, topic, groupId: 'bench-fresh', batchSize: BATCH, batchWaitMs: 250, logger });
    await sink.start();

    log(`emitting ${formatCount(rate)} events/s for ${seconds} s`);
    const total = rate * seconds;
    const started = Date.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate));
      for (; sent < due; sent++) {
        emitter.emit(
          buildApiCallEvent({
            source: 'fresh',
            subject: `tpp-${sent % 200}`,
            timeMs: Date.now(),
            id: `f-${sent}`,
            data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 1, cost: 1, decision: 'debited' },
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 5)); // pacing the generator, not waiting for a condition
    }
    const count = async () => Number((await (await ch.query({ query: "SELECT count() AS n FROM events WHERE source = 'fresh'", format: 'JSONEachRow' })).json<{ n: string | number }>())[0]?.n);
    await waitFor(async () => (await count()) >= total, { timeoutMs: 120_000, intervalMs: 100, what: 'every event stored' });

    const lags = await (
      await ch.query({
        query: "SELECT toUnixTimestamp64Milli(ingested_at) - toUnixTimestamp64Milli(time) AS lag FROM events WHERE source = 'fresh' ORDER BY lag",
        format: 'JSONEachRow',
      })
    ).json<{ lag: string | number }>();
    const sorted = lags.map((r) => Number(r.lag));
    const [meter] = parseMeters([{ slug: 'calls', eventType: 'api.call', aggregation: 'COUNT' }]);
    if (!meter) throw new Error('meter missing');
    const counted = (await queryMeter(ch, meter, { windowTimeZone: 'UTC', subjects: [], groupBy: [], filterGroupBy: {} })).data.reduce((n, r) => n + r.value, 0);

    await emitter.close();
    await sink.stop();
    await ch.close();
    await kafka.close();
    return { rate, seconds, events: total, counted, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), maxMs: sorted[sorted.length - 1] ?? Number.NaN };
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

export const freshnessRows = (r: FreshnessResult): ReportRow[] => [
  {
    scenario: `freshness (${formatCount(r.rate)} events/s for ${r.seconds} s)`,
    measure: 'event time → stored and counted by the meter query',
    baseline: '—',
    system: `p50 ${formatMs(r.p50Ms)}, p99 ${formatMs(r.p99Ms)}, max ${formatMs(r.maxMs)}`,
    comparison: `${formatCount(r.counted)} of ${formatCount(r.events)} counted by the meter`,
    target: 'p99 ≤ 3 s',
    verdict: r.p99Ms <= 3_000 && r.counted === r.events ? 'pass' : 'MISS',
  },
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await runFreshness(Number(process.env.FRESHNESS_RATE ?? 5_000), Number(process.env.FRESHNESS_SECONDS ?? 20), (l) => console.log(`  ${l}`));
  console.log(`\n${reportTable(freshnessRows(r))}`);
}
