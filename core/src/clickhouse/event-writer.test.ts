import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../events/validate-event.ts';
import { createLogger, type Logger } from '../logger.ts';
import { metrics } from '../metrics/metrics.ts';
import { openClickHouse } from './client.ts';
import { EventWriter } from './event-writer.ts';
import { migrate } from './migrations.ts';

const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-writer-')) });
const writer = new EventWriter({ clickhouse: ch, logger: createLogger('test', 'silent'), writer: 'test' });
beforeAll(() => migrate(ch));

const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);
const event = (subject: string, i: number, extra: Partial<StoredEvent> = {}): StoredEvent => ({
  source: 'gw',
  id: `${subject}-${i}`,
  type: 'api.call',
  subject,
  timeMs: T0 + i,
  data: '{}',
  cost: 2,
  decision: 'debited',
  ...extra,
});

const totals = async (subject: string) => {
  const r = await ch.query({
    query: `SELECT (SELECT count() FROM events WHERE subject = {s:String}) AS events,
                   (SELECT sum(cost) FROM usage_1m WHERE subject = {s:String}) AS usage`,
    query_params: { s: subject },
    format: 'JSONEachRow',
  });
  const [row] = await r.json<{ events: string | number; usage: string | number }>();
  return { events: Number(row?.events), usage: Number(row?.usage) };
};

const storedTimes = async (id: string) => {
  const r = await ch.query({ query: 'SELECT toUnixTimestamp64Milli(time) AS t FROM events WHERE id = {id:String}', query_params: { id }, format: 'JSONEachRow' });
  return (await r.json<{ t: string | number }>()).map((row) => Number(row.t));
};

const capturingLogger = () => {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => void lines.push({ level, msg, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
};

describe('EventWriter: each (source, id) once', () => {
  it('stores each (source, id) once across repeated and overlapping batches', async () => {
    const batch = Array.from({ length: 1000 }, (_, i) => event('tpp-a', i));
    expect(await writer.write(batch)).toEqual({ inserted: 1000, alreadyPresent: 0, refused: [] });
    expect(await writer.write(batch)).toEqual({ inserted: 0, alreadyPresent: 1000, refused: [] });
    const overlapping = Array.from({ length: 1000 }, (_, i) => event('tpp-a', i + 500));
    expect(await writer.write([...overlapping, ...overlapping])).toEqual({ inserted: 500, alreadyPresent: 1500, refused: [] });
    expect(await totals('tpp-a')).toEqual({ events: 1500, usage: 3000 });
  });

  it('recognises a copy whatever its time: the first stored copy wins (an event without time keeps its first arrival)', async () => {
    // Ingest stamps an event without `time` at its arrival: a retry two seconds later has another time.
    const first = event('tpp-retry', 1, { id: 'retry-1', cost: 5 });
    expect(await writer.write([first])).toEqual({ inserted: 1, alreadyPresent: 0, refused: [] });
    const retries = [2_000, -86_400_000, 40 * 86_400_000].map((shift) => ({ ...first, timeMs: first.timeMs + shift }));
    for (const retry of retries) expect(await writer.write([retry])).toEqual({ inserted: 0, alreadyPresent: 1, refused: [] });
    expect(await storedTimes('retry-1')).toEqual([first.timeMs]);
    expect(await totals('tpp-retry')).toEqual({ events: 1, usage: 5 });
  });

  it('keeps the first copy of a batch that carries two', async () => {
    const a = event('tpp-twice', 1, { id: 'twice-1' });
    expect(await writer.write([a, { ...a, timeMs: a.timeMs + 60_000, cost: 9 }])).toEqual({ inserted: 1, alreadyPresent: 1, refused: [] });
    expect(await storedTimes('twice-1')).toEqual([a.timeMs]);
    expect(await totals('tpp-twice')).toEqual({ events: 1, usage: 2 });
  });

  it('keeps the same id from another source apart', async () => {
    const a = event('tpp-b', 1);
    expect(await writer.write([a, { ...a, source: 'other' }])).toEqual({ inserted: 2, alreadyPresent: 0, refused: [] });
    expect(await totals('tpp-b')).toEqual({ events: 2, usage: 4 });
  });

  it('accepts an empty batch', async () => {
    expect(await writer.write([])).toEqual({ inserted: 0, alreadyPresent: 0, refused: [] });
  });

  it('recognises a repeated batch of 10,000 events', async () => {
    const batch = Array.from({ length: 10_000 }, (_, i) => ({ ...event(`tpp-big-${i % 7}`, i), id: `big-${i}-${'x'.repeat(30)}` }));
    expect(await writer.write(batch)).toEqual({ inserted: 10_000, alreadyPresent: 0, refused: [] });
    expect(await writer.write(batch.reverse())).toEqual({ inserted: 0, alreadyPresent: 10_000, refused: [] });
  });

  it('remembers each key for the dedupe horizon from its first storage', async () => {
    const long = new EventWriter({ clickhouse: ch, logger: createLogger('test', 'silent'), writer: 'test', dedupeHorizonDays: 90 });
    const before = Date.now();
    await long.write([event('tpp-horizon', 1, { id: 'horizon-1' })]);
    await writer.write([event('tpp-horizon', 2, { id: 'horizon-2' })]);
    const r = await ch.query({ query: "SELECT id, toUnixTimestamp(dedupe_until) AS until FROM event_keys WHERE id LIKE 'horizon-%' ORDER BY id", format: 'JSONEachRow' });
    const until = (await r.json<{ id: string; until: string | number }>()).map((row) => Number(row.until) * 1000);
    const days = until.map((ms) => Math.round((ms - before) / 86_400_000));
    expect(days).toEqual([90, 32]);
  });
});

describe('events: a repeated row folded by a merge', () => {
  it('counts once in usage_1m after its parts merge (the projections are rebuilt, not summed)', async () => {
    // The same row written twice past the landing view (two inserts: two parts), as a replay
    // before the dedupe or a hand repair could: the Replacing engine folds it when the parts merge.
    const row = { source: 'gw', id: 'merged-1', type: 'api.call', subject: 'tpp-merge', time: '2026-01-15 10:00:00.000', data: '{}', cost: 7, decision: 'debited' };
    for (let i = 0; i < 2; i++) await ch.insert({ table: 'events', values: [row], format: 'JSONEachRow' });
    expect(await totals('tpp-merge')).toEqual({ events: 2, usage: 14 });
    await ch.command({ query: 'OPTIMIZE TABLE events FINAL' });
    expect(await totals('tpp-merge')).toEqual({ events: 1, usage: 7 });
  });
});

describe('EventWriter: no batch is refused for its shape', () => {
  it('stores one batch of 101 events in 101 months, and the writes after it', async () => {
    const batch = Array.from({ length: 101 }, (_, i) => event('tpp-months', i, { timeMs: Date.UTC(2017, i, 3, 12) }));
    expect(await writer.write(batch)).toEqual({ inserted: 101, alreadyPresent: 0, refused: [] });
    expect(await writer.write([event('tpp-months', 500)])).toEqual({ inserted: 1, alreadyPresent: 0, refused: [] });
    expect(await totals('tpp-months')).toEqual({ events: 102, usage: 204 });
  });

  it('returns the events ClickHouse refuses on their own, with its reason, and stores the rest', async () => {
    const { logger, lines } = capturingLogger();
    const w = new EventWriter({ clickhouse: ch, logger, writer: 'test' });
    const batch = Array.from({ length: 2_000 }, (_, i) => event('tpp-poison', i));
    // A lone high surrogate passes JSON.parse and the event checks, and ClickHouse's JSON reader refuses it;
    // a year past 9999 is written in a form its DateTime reader refuses.
    const bad = [
      { ...event('tpp-poison', 3), id: 'lone-\ud800' },
      { ...event('tpp-poison', 1_200), type: 'api.call\ud83d' },
      { ...event('tpp-poison', 1_999), timeMs: Date.UTC(10_000, 0, 1) },
    ];
    batch.splice(3, 1, bad[0] as StoredEvent);
    batch.splice(1_200, 1, bad[1] as StoredEvent);
    batch.splice(1_999, 1, bad[2] as StoredEvent);
    const result = await w.write(batch);
    expect(result.inserted).toBe(1_997);
    expect(result.alreadyPresent).toBe(0);
    expect(result.refused.map((r) => r.event)).toEqual(bad);
    expect(result.refused.map((r) => /^ClickHouse refused the event \(code (\d+)\)/.exec(r.reason)?.[1])).toEqual(['25', '25', '41']);
    expect(lines.filter((l) => l.msg === 'event refused by ClickHouse')).toHaveLength(3);
    expect(await totals('tpp-poison')).toEqual({ events: 1_997, usage: 3_994 });
    expect(w.health.healthy).toBe(true);
    // A retry of the whole batch stores nothing twice and refuses the same three.
    const again = await w.write(batch);
    expect({ inserted: again.inserted, alreadyPresent: again.alreadyPresent, refused: again.refused.length }).toEqual({ inserted: 0, alreadyPresent: 1_997, refused: 3 });
  });
});

describe('EventWriter: a key is remembered only with its event', () => {
  it('leaves no key behind for an event that events refused, so its retry stores it', async () => {
    await ch.command({ query: "ALTER TABLE events ADD CONSTRAINT no_held CHECK NOT startsWith(id, 'held-')" });
    const batch = [event('tpp-held', 1, { id: 'held-1' }), event('tpp-held', 2), event('tpp-held', 3)];
    try {
      const first = await writer.write(batch);
      expect({ inserted: first.inserted, alreadyPresent: first.alreadyPresent, refused: first.refused.map((r) => r.event.id) }).toEqual({ inserted: 2, alreadyPresent: 0, refused: ['held-1'] });
      expect(first.refused[0]?.reason).toMatch(/^ClickHouse refused the event \(code 469\): Constraint `no_held`/);
    } finally {
      await ch.command({ query: 'ALTER TABLE events DROP CONSTRAINT no_held' });
    }
    // The refusal is lifted (say, an operator fixed the table): the event is not taken for a stored one.
    expect(await writer.write(batch)).toEqual({ inserted: 1, alreadyPresent: 2, refused: [] });
    expect(await totals('tpp-held')).toEqual({ events: 3, usage: 6 });
  });
});

describe('EventWriter: a write failure is never silent', () => {
  it('logs the cause, counts it and marks its health failing until a write succeeds', async () => {
    const { logger, lines } = capturingLogger();
    const down = openClickHouse({ url: 'http://127.0.0.1:9' });
    const w = new EventWriter({ clickhouse: down, logger, writer: 'unreachable' });
    const failures = async () => (await metrics.eventWriteFailures.get()).values.filter((v) => v.labels.writer === 'unreachable').reduce((n, v) => n + v.value, 0);
    await expect(w.write([event('tpp-down', 1)])).rejects.toThrow();
    expect(await failures()).toBe(1);
    expect(w.health.healthy).toBe(false);
    expect(w.health.failure?.cause).toMatch(/ECONNREFUSED/);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'event write failed', fields: expect.objectContaining({ writer: 'unreachable', events: 1 }) }));
    await down.close();
  });
});
