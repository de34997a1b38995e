import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../events/validate-event.ts';
import { createLogger } from '../logger.ts';
import { openClickHouse } from './client.ts';
import { EventWriter } from './event-writer.ts';
import { migrate } from './migrations.ts';
import { claimWriteFence, ownerOf, WriteFencedError } from './write-fence.ts';

const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-fence-')) });
const writer = new EventWriter({ clickhouse: ch, logger: createLogger('test', 'silent'), writer: 'test' });
beforeAll(() => migrate(ch));

const event = (subject: string, i: number): StoredEvent => ({
  source: 'gw',
  id: `${subject}-${i}`,
  type: 'api.call',
  subject,
  timeMs: Date.UTC(2026, 0, 15, 10, 0, 0, i),
  data: '{}',
  cost: 3,
  decision: 'debited',
});

const stored = async (subject: string) => {
  const r = await ch.query({
    query: `SELECT (SELECT count() FROM events WHERE subject = {s:String}) AS events, (SELECT sum(cost) FROM usage_1m WHERE subject = {s:String}) AS usage`,
    query_params: { s: subject },
    format: 'JSONEachRow',
  });
  const [row] = await r.json<{ events: string | number; usage: string | number }>();
  return { events: Number(row?.events), usage: Number(row?.usage) };
};

describe('write fences', () => {
  it('stores nothing from a writer whose claim was superseded, and the new owner stores the rest once', async () => {
    const stream = 'api-calls/0';
    const a = await claimWriteFence(ch, stream);
    const batch = Array.from({ length: 100 }, (_, i) => event('tpp-fence', i));
    expect(await writer.write(batch.slice(0, 50), { fence: a })).toEqual({ inserted: 50, alreadyPresent: 0, refused: [] });

    // A pauses holding events 25..99; B takes the partition over and claims it.
    const b = await claimWriteFence(ch, stream);
    expect(await ownerOf(ch, stream)).toBe(b.token);
    const late = writer.write(batch.slice(25), { fence: a });
    await expect(late).rejects.toBeInstanceOf(WriteFencedError);
    await expect(late).rejects.toMatchObject({ inserted: 0, fence: a });
    expect(await stored('tpp-fence')).toEqual({ events: 50, usage: 150 });

    // B starts where A last committed (offset 0): what A stored is recognised, the rest stored once.
    expect(await writer.write(batch, { fence: b })).toEqual({ inserted: 50, alreadyPresent: 50, refused: [] });
    expect(await stored('tpp-fence')).toEqual({ events: 100, usage: 300 });
  });

  it('keeps the streams apart, and a claim on one does not fence another', async () => {
    const p1 = await claimWriteFence(ch, 'api-calls/1');
    const p2 = await claimWriteFence(ch, 'api-calls/2');
    await claimWriteFence(ch, 'api-calls/3');
    expect(await writer.write([event('tpp-streams', 1)], { fence: p1 })).toMatchObject({ inserted: 1 });
    expect(await writer.write([event('tpp-streams', 2)], { fence: p2 })).toMatchObject({ inserted: 1 });
    expect(await stored('tpp-streams')).toEqual({ events: 2, usage: 6 });
  });

  it('orders two claims that raced for one seq by token, so exactly one is the owner', async () => {
    const stream = 'api-calls/race';
    await ch.insert({
      table: 'write_fences',
      format: 'JSONEachRow',
      values: [
        { fence_key: stream, seq: 7, token: 'token-b' },
        { fence_key: stream, seq: 7, token: 'token-a' },
      ],
    });
    expect(await ownerOf(ch, stream)).toBe('token-b');
    await expect(writer.write([event('tpp-race', 1)], { fence: { key: stream, token: 'token-a' } })).rejects.toBeInstanceOf(WriteFencedError);
    expect(await writer.write([event('tpp-race', 1)], { fence: { key: stream, token: 'token-b' } })).toMatchObject({ inserted: 1 });
    // The next claim comes after both.
    const next = await claimWriteFence(ch, stream);
    expect(await ownerOf(ch, stream)).toBe(next.token);
  });

  it('refuses to write with a claim that was never made', async () => {
    await expect(writer.write([event('tpp-unclaimed', 1)], { fence: { key: 'api-calls/none', token: 'made-up' } })).rejects.toBeInstanceOf(WriteFencedError);
    expect(await stored('tpp-unclaimed')).toEqual({ events: 0, usage: 0 });
  });
});
