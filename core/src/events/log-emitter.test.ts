import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../clickhouse/client.ts';
import { migrate } from '../clickhouse/migrations.ts';
import { EventLog } from '../event-log/event-log.ts';
import { LogSink } from '../event-log/log-sink.ts';
import { segmentPath } from '../event-log/segment-files.ts';
import { metrics } from '../metrics/metrics.ts';
import { buildApiCallEvent } from './api-call.ts';
import { LogEmitter } from './log-emitter.ts';

const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-log-emitter-')) });
beforeAll(() => migrate(ch));

const event = (source: string, i: number) =>
  buildApiCallEvent({
    source,
    subject: 'tpp-emitter',
    id: `e-${i}`,
    timeMs: Date.now(),
    data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 1, cost: 1, decision: 'debited' },
  });
const appendFailures = async () => (await metrics.eventLogFailures.get()).values.find((v) => v.labels.operation === 'append')?.value ?? 0;

describe('LogEmitter', () => {
  it('refuses new calls while the disk refuses appends, says why, and never throws at the request', async () => {
    if (!existsSync('/dev/full')) throw new Error('this test needs /dev/full (Linux) to make the disk refuse writes');
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-log-full-disk-'));
    // Segments of 100 bytes: the first append moves the log to segment 2, which is /dev/full, where
    // every write fails with ENOSPC, as on a full disk.
    const log = new EventLog({ dir, segmentBytes: 100 });
    symlinkSync('/dev/full', segmentPath(dir, 2));
    const emitter = new LogEmitter({ log, sink: new LogSink({ log, clickhouse: ch }), closeBudgetMs: 2_000 });
    const before = await appendFailures();
    emitter.emit(event('disk-full', 1));
    expect(emitter.accepting).toBe(true);
    expect(() => emitter.emit(event('disk-full', 2))).not.toThrow();
    emitter.emit(event('disk-full', 3));
    expect(emitter.accepting).toBe(false);
    expect(emitter.status()).toEqual({ backlog: 3, problem: expect.stringMatching(/append failed .*ENOSPC/) });
    expect((await appendFailures()) - before).toBeGreaterThanOrEqual(1);
    const unrecorded = (await metrics.eventsUnrecorded.get()).values[0]?.value ?? 0;
    await emitter.close();
    // Still held at the stop: counted as unrecorded, not dropped silently.
    expect(((await metrics.eventsUnrecorded.get()).values[0]?.value ?? 0) - unrecorded).toBe(2);
  });

  it('refuses new calls past maxBytes of unstored events, and takes them again once the sink stored them', async () => {
    const log = new EventLog({ dir: mkdtempSync(join(tmpdir(), 'tollgate-log-max-')), maxBytes: 4_096 });
    const sink = new LogSink({ log, clickhouse: ch });
    const emitter = new LogEmitter({ log, sink });
    let i = 0;
    while (emitter.accepting && i < 1_000) emitter.emit(event(`max-bytes-${process.pid}`, i++));
    expect(emitter.accepting).toBe(false);
    expect(emitter.status().problem).toMatch(/is full/);
    sink.start();
    await emitter.flush();
    expect(emitter.accepting).toBe(true);
    expect(emitter.status()).toEqual({ backlog: 0 });
    await emitter.close();
  });
});
