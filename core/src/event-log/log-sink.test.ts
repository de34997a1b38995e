import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startClickHouseFront } from '@tollgate/testkit/clickhouse-http';
import { freePort } from '@tollgate/testkit/free-port';
import { waitFor } from '@tollgate/testkit/wait-for';
import { openClickHouse } from '../clickhouse/client.ts';
import { migrate } from '../clickhouse/migrations.ts';
import { buildApiCallEvent } from '../events/api-call.ts';
import { LogEmitter } from '../events/log-emitter.ts';
import { metrics } from '../metrics/metrics.ts';
import { DEAD_LETTER_FILE } from './dead-letter-file.ts';
import { EventLog } from './event-log.ts';
import { LogSink } from './log-sink.ts';

const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-log-sink-')) });
beforeAll(() => migrate(ch));

const dir = () => mkdtempSync(join(tmpdir(), 'tollgate-log-sink-log-'));
const line = (source: string, i: number) =>
  `${JSON.stringify(
    buildApiCallEvent({
      source,
      subject: `tpp-${i % 7}`,
      id: `e-${i}`,
      timeMs: Date.now() - 60_000 + i,
      data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 1, cost: 2, decision: 'debited' },
    }),
  )}\n`;

const stored = async (client: typeof ch, source: string) => {
  const r = await client.query({
    query: 'SELECT count() AS n, uniqExact(id) AS ids, sum(cost) AS cost FROM events WHERE source = {s:String}',
    query_params: { s: source },
    format: 'JSONEachRow',
  });
  const [row] = await r.json<{ n: string; ids: string; cost: string }>();
  return { n: Number(row?.n), ids: Number(row?.ids), cost: Number(row?.cost) };
};

describe('LogSink', () => {
  it('drains the log in large batches, each event once', async () => {
    const source = `drain-${Date.now()}`;
    const log = new EventLog({ dir: dir(), segmentBytes: 256 * 1024 });
    for (let i = 0; i < 25_000; i++) log.append(line(source, i));
    const batches = (await metrics.sinkBatchSize.get()).values.find((v) => v.metricName === 'tollgate_sink_batch_size_count')?.value ?? 0;
    const sink = new LogSink({ log, clickhouse: ch, batchSize: 10_000 });
    await sink.drain();
    expect(log.pending).toBe(0);
    expect(await stored(ch, source)).toEqual({ n: 25_000, ids: 25_000, cost: 50_000 });
    const after = (await metrics.sinkBatchSize.get()).values.find((v) => v.metricName === 'tollgate_sink_batch_size_count')?.value ?? 0;
    expect(after - batches).toBe(3);
    await log.close();
  });

  it('a crash between the insert and the checkpoint stores the batch again, and dedup keeps each event once', async () => {
    const source = `crash-${Date.now()}`;
    const d = dir();
    const log = new EventLog({ dir: d });
    for (let i = 0; i < 3_000; i++) log.append(line(source, i));
    await new LogSink({ log, clickhouse: ch }).drain();
    await log.close();
    // The checkpoint never reached the disk: the next run finds the whole log unstored.
    rmSync(join(d, 'checkpoint.json'));
    const again = new EventLog({ dir: d });
    expect(again.pending).toBe(3_000);
    await new LogSink({ log: again, clickhouse: ch }).drain();
    expect(await stored(ch, source)).toEqual({ n: 3_000, ids: 3_000, cost: 6_000 });
    await again.close();
  });

  it('puts a line that is not a valid event in the dead-letter file with its reason, and stores the rest', async () => {
    const source = `dead-${Date.now()}`;
    const d = dir();
    const log = new EventLog({ dir: d });
    const before = (await metrics.deadLettered.get()).values[0]?.value ?? 0;
    log.append(line(source, 1));
    log.append('{"torn": \n');
    log.append(`${JSON.stringify({ specversion: '1.0', id: 'x', source, type: 'api.call', subject: 'tpp-1', time: new Date().toISOString() })}\n`);
    log.append(line(source, 2));
    await new LogSink({ log, clickhouse: ch }).drain();
    expect(log.pending).toBe(0);
    expect((await stored(ch, source)).n).toBe(2);
    const dead = readFileSync(join(d, DEAD_LETTER_FILE), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reason: string; event: string });
    expect(dead.map((x) => x.reason)).toEqual(['not JSON', 'data.endpoint must be a string']);
    expect(dead[0]?.event).toBe('{"torn": ');
    expect(((await metrics.deadLettered.get()).values[0]?.value ?? 0) - before).toBe(2);
    await log.close();
  });

  it('a ClickHouse that does not answer is reported and retried; nothing is lost, and the backlog is stored once it answers', async () => {
    const source = `down-${Date.now()}`;
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-log-sink-front-'));
    let front = await startClickHouseFront({ dataDir, port });
    const remote = openClickHouse({ url: front.url });
    await migrate(remote);
    const log = new EventLog({ dir: dir() });
    const sink = new LogSink({ log, clickhouse: remote, batchWaitMs: 10, retryMs: 20 });
    const emitter = new LogEmitter({ log, sink });
    sink.start();
    const failures = async () => (await metrics.sinkWriteFailures.get()).values[0]?.value ?? 0;
    const failedBefore = await failures();
    await front.stop();
    for (let i = 0; i < 500; i++) emitter.emit(JSON.parse(line(source, i)) as Parameters<LogEmitter['emit']>[0]);
    await waitFor(() => sink.problem !== undefined, { what: 'the failed write to be reported' });
    // Readiness sees it: /readyz shows the problem and the backlog, and answers 503.
    expect(emitter.status()).toEqual({ backlog: 500, problem: expect.stringMatching(/storing the event log failed/) });
    expect(await failures()).toBeGreaterThan(failedBefore);
    expect((await metrics.eventLogBacklog.get()).values[0]?.value).toBeGreaterThanOrEqual(500);
    front = await startClickHouseFront({ dataDir, port });
    try {
      await waitFor(() => log.pending === 0, { timeoutMs: 20_000, what: 'the backlog stored' });
      expect(emitter.status()).toEqual({ backlog: 0 });
      expect(await stored(remote, source)).toEqual({ n: 500, ids: 500, cost: 1_000 });
      await emitter.close();
    } finally {
      await remote.close();
      await front.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('stop stores what is queued in full batches', async () => {
    const source = `stop-${Date.now()}`;
    const log = new EventLog({ dir: dir() });
    const sink = new LogSink({ log, clickhouse: ch, batchSize: 5_000, batchWaitMs: 60_000 });
    sink.start();
    for (let i = 0; i < 12_000; i++) log.append(line(source, i));
    await sink.stop();
    expect(log.pending).toBe(0);
    expect(await stored(ch, source)).toEqual({ n: 12_000, ids: 12_000, cost: 24_000 });
    await log.close();
  });
});
