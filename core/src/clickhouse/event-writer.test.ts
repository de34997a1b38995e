import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../events/validate-event.ts';
import { openClickHouse } from './client.ts';
import { writeEventsOnce } from './event-writer.ts';
import { migrate } from './migrations.ts';

const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-writer-')) });
beforeAll(() => migrate(ch));

const event = (subject: string, i: number): StoredEvent => ({
  source: 'gw',
  id: `${subject}-${i}`,
  type: 'api.call',
  subject,
  timeMs: Date.UTC(2026, 0, 15, 10, 0, 0, i),
  data: '{}',
  cost: 2,
  decision: 'debited',
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

describe('writeEventsOnce', () => {
  it('stores each (source, id) once across repeated and overlapping batches', async () => {
    const batch = Array.from({ length: 1000 }, (_, i) => event('tpp-a', i));
    expect(await writeEventsOnce(ch, batch)).toEqual({ inserted: 1000, alreadyPresent: 0 });
    expect(await writeEventsOnce(ch, batch)).toEqual({ inserted: 0, alreadyPresent: 1000 });
    const overlapping = Array.from({ length: 1000 }, (_, i) => event('tpp-a', i + 500));
    expect(await writeEventsOnce(ch, [...overlapping, ...overlapping])).toEqual({ inserted: 500, alreadyPresent: 1500 });
    expect(await totals('tpp-a')).toEqual({ events: 1500, usage: 3000 });
  });

  it('keeps the same id from another source apart', async () => {
    const a = event('tpp-b', 1);
    expect(await writeEventsOnce(ch, [a, { ...a, source: 'other' }])).toEqual({ inserted: 2, alreadyPresent: 0 });
    expect(await totals('tpp-b')).toEqual({ events: 2, usage: 4 });
  });

  it('accepts an empty batch', async () => {
    expect(await writeEventsOnce(ch, [])).toEqual({ inserted: 0, alreadyPresent: 0 });
  });
});

describe('writeEventsOnce with large batches', () => {
  it('recognises a repeated batch of 10,000 events across lookup slices', async () => {
    const batch = Array.from({ length: 10_000 }, (_, i) => ({ ...event(`tpp-big-${i % 7}`, i), id: `big-${i}-${'x'.repeat(30)}` }));
    expect(await writeEventsOnce(ch, batch)).toEqual({ inserted: 10_000, alreadyPresent: 0 });
    expect(await writeEventsOnce(ch, batch.reverse())).toEqual({ inserted: 0, alreadyPresent: 10_000 });
  });
});
