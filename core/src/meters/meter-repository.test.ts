import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../clickhouse/client.ts';
import { migrate } from '../clickhouse/migrations.ts';
import { createLogger } from '../logger.ts';
import { readMeterDefinition, type MeterDefinition } from './meter-definition.ts';
import { MeterRepository } from './meter-repository.ts';
import { meterRow } from './stored-meter-sql.ts';

const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-meter-repo-')) });
const logger = createLogger('test', 'silent');
beforeAll(() => migrate(ch));

const definition = (slug: string, eventType = 'prompt'): MeterDefinition => {
  const read = readMeterDefinition({ slug, eventType, aggregation: 'COUNT' });
  if (!('definition' in read)) throw new Error('refused');
  return read.definition;
};
const slugs = async (repo: MeterRepository) => (await repo.list()).map((m) => m.definition.meter.slug);

describe('MeterRepository', () => {
  it('stores a created meter for every reader, and answers a second create of its slug with the first as a conflict', async () => {
    const repo = new MeterRepository(ch, logger);
    const first = await repo.create(definition('alpha'));
    if (!('created' in first)) throw new Error('not created');
    expect(first.created.definition).toEqual(definition('alpha'));
    // Another process: a repository of its own over the same ClickHouse.
    const other = new MeterRepository(ch, logger);
    expect(await other.list()).toEqual([first.created]);
    expect(await other.create(definition('alpha', 'other'))).toEqual({ conflict: first.created });
  });

  it('answers concurrent creates of one slug in one process with exactly one created', async () => {
    const repo = new MeterRepository(ch, logger);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.create(definition('beta', `type-${i}`))));
    const created = results.flatMap((r) => ('created' in r ? [r.created] : []));
    expect(created).toHaveLength(1);
    expect(results.filter((r) => 'conflict' in r).map((r) => ('conflict' in r ? r.conflict : undefined))).toEqual(Array.from({ length: 7 }, () => created[0]));
    expect((await repo.list()).filter((m) => m.definition.meter.slug === 'beta')).toEqual(created);
  });

  it('deletes by id or slug; a row that lost a race never becomes the meter, and the slug can be created again', async () => {
    const repo = new MeterRepository(ch, logger);
    const made = await repo.create(definition('gamma'));
    if (!('created' in made)) throw new Error('not created');
    // A create that lost a race in another process leaves its row behind, later than the meter's.
    await ch.insert({ table: 'meters', format: 'JSONEachRow', values: [meterRow('LOSER', definition('gamma', 'loser'))] });
    expect((await repo.list()).find((m) => m.definition.meter.slug === 'gamma')).toEqual(made.created);
    expect(await repo.delete(made.created.id)).toEqual(made.created);
    expect(await slugs(repo)).not.toContain('gamma');
    expect(await repo.delete('gamma')).toBeUndefined();
    const again = await repo.create(definition('gamma', 'again'));
    if (!('created' in again)) throw new Error('not created');
    expect(again.created.definition.meter.eventType).toBe('again');
    expect(again.created.id).not.toBe(made.created.id);
    expect(await repo.delete('gamma')).toEqual(again.created);
  });

  it('lists meters oldest first, and leaves out (and logs) a stored row that no longer reads as a meter', async () => {
    const errors: unknown[] = [];
    const repo = new MeterRepository(ch, { ...logger, error: (msg, fields) => void errors.push({ msg, ...fields }) });
    await ch.insert({ table: 'meters', format: 'JSONEachRow', values: [{ slug: 'broken', id: 'BROKEN', definition: '{"slug":"broken"}', deleted: 0 }] });
    const listed = await repo.list();
    expect(listed.map((m) => m.definition.meter.slug)).toEqual(['alpha', 'beta']);
    expect(listed.map((m) => m.createdAt)).toEqual([...listed.map((m) => m.createdAt)].sort());
    expect(errors).toEqual([expect.objectContaining({ slug: 'broken', id: 'BROKEN' })]);
  });
});
