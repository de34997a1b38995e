import { appendFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskSpool, SpoolFullError, type SpoolRecord } from './disk-spool.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'tollgate-spool-'));
const records = (from: number, n: number): SpoolRecord[] =>
  Array.from({ length: n }, (_, i) => ({ key: `tpp-${(from + i) % 3}`, value: JSON.stringify({ id: String(from + i) }) }));
const ids = (rs: SpoolRecord[]) => rs.map((r) => (JSON.parse(r.value) as { id: string }).id);

const drain = async (spool: DiskSpool, step = 7): Promise<string[]> => {
  const out: string[] = [];
  for (;;) {
    const batch = await spool.peek(step);
    if (batch.length === 0) return out;
    out.push(...ids(batch));
    await spool.ack(batch.length);
  }
};

describe('DiskSpool', () => {
  it('gives records back in append order across segments, and removes what was acknowledged', async () => {
    const d = dir();
    const spool = new DiskSpool({ dir: d, maxBytes: 1024 * 1024, segmentBytes: 200 });
    await spool.append(records(0, 10));
    await spool.append(records(10, 10));
    expect(spool.size).toBe(20);
    const first = await spool.peek(5);
    expect(ids(first)).toEqual(['0', '1', '2', '3', '4']);
    await spool.ack(5);
    await spool.append(records(20, 5)); // appended while draining
    expect(await drain(spool)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 5)));
    expect(spool.isEmpty).toBe(true);
    await spool.close();
    expect(readdirSync(d).filter((f) => f.endsWith('.jsonl')).length).toBeLessThanOrEqual(1);
  });

  it('survives a restart: what was not acknowledged comes back, in order, once', async () => {
    const d = dir();
    const a = new DiskSpool({ dir: d, maxBytes: 1024 * 1024, segmentBytes: 150 });
    await a.append(records(0, 12));
    await a.ack((await a.peek(4)).length);
    await a.close();
    const b = new DiskSpool({ dir: d, maxBytes: 1024 * 1024, segmentBytes: 150 });
    expect(b.size).toBe(8);
    expect(await drain(b)).toEqual(['4', '5', '6', '7', '8', '9', '10', '11']);
    await b.close();
  });

  it('drops a partial last line left by a crash mid-append', async () => {
    const d = dir();
    const a = new DiskSpool({ dir: d, maxBytes: 1024 * 1024 });
    await a.append(records(0, 3));
    await a.close();
    const segment = readdirSync(d).find((f) => f.endsWith('.jsonl'));
    appendFileSync(join(d, String(segment)), '["tpp-1","{\\"id\\":');
    const b = new DiskSpool({ dir: d, maxBytes: 1024 * 1024 });
    expect(await drain(b)).toEqual(['0', '1', '2']);
    await b.close();
  });

  it('refuses an append that does not fit, keeping what it holds', async () => {
    const spool = new DiskSpool({ dir: dir(), maxBytes: 300 });
    await spool.append(records(0, 5));
    await expect(spool.append(records(5, 50))).rejects.toBeInstanceOf(SpoolFullError);
    expect(await drain(spool)).toEqual(['0', '1', '2', '3', '4']);
    await spool.append(records(5, 5));
    expect(spool.size).toBe(5);
    await spool.close();
  });

  it('keeps keys and values exactly (tabs, quotes, newlines, non-ASCII), and reads lines an earlier version wrote', async () => {
    const d = dir();
    // A spool left by an earlier version: every line a JSON array [key, value].
    writeFileSync(join(d, '000000000001.jsonl'), `${JSON.stringify(['tpp-old', '{"id":"old"}'])}\n`);
    const spool = new DiskSpool({ dir: d, maxBytes: 1024 * 1024 });
    const odd: SpoolRecord[] = [
      { key: 'tpp\t"1"', value: JSON.stringify({ id: 'a', note: 'tab\tquote"newline\n' }) },
      { key: 'tpp-ü', value: 'raw text with a\nnewline\tand tab' },
      { key: '', value: '' },
    ];
    await spool.append(odd);
    expect(spool.size).toBe(4);
    expect(spool.bytes).toBeGreaterThan(0);
    const all: SpoolRecord[] = [];
    for (let batch = await spool.peek(10); batch.length > 0; batch = await spool.peek(10)) {
      all.push(...batch);
      await spool.ack(batch.length);
    }
    expect(all).toEqual([{ key: 'tpp-old', value: '{"id":"old"}' }, ...odd]);
    await spool.close();
  });
});
