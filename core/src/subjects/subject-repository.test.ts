import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../clickhouse/client.ts';
import { migrate } from '../clickhouse/migrations.ts';
import { SubjectRepository } from './subject-repository.ts';
import { subjectId } from './subject-sql.ts';

const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-subjects-')) });
beforeAll(() => migrate(ch));
const fields = (s: { key: string; displayName: string | null; metadata: unknown } | undefined) => s && { key: s.key, displayName: s.displayName, metadata: s.metadata };

describe('SubjectRepository', () => {
  it('keeps each field from its latest write: upserts of different fields, even concurrent ones, never undo each other', async () => {
    const repo = new SubjectRepository(ch);
    await repo.upsert([{ key: 'tpp-a', displayName: 'A', metadata: { tier: 'gold' } }]);
    // Through two repositories (two processes) at once: each writes only its field.
    await Promise.all([new SubjectRepository(ch).upsert([{ key: 'tpp-a', displayName: 'A Ltd' }]), new SubjectRepository(ch).upsert([{ key: 'tpp-a', metadata: { tier: 'silver' } }])]);
    expect(fields(await repo.get('tpp-a'))).toEqual({ key: 'tpp-a', displayName: 'A Ltd', metadata: { tier: 'silver' } });
    const [cleared] = await repo.upsert([{ key: 'tpp-a', displayName: null }]);
    expect(fields(cleared)).toEqual({ key: 'tpp-a', displayName: null, metadata: { tier: 'silver' } });
    expect(cleared?.id).toBe(subjectId('tpp-a'));
    expect(await repo.get(subjectId('tpp-a'))).toEqual(cleared);
  });

  it('deletes a subject with everything written before, and lists the live ones by key', async () => {
    const repo = new SubjectRepository(ch);
    await repo.upsert([{ key: 'tpp-c', metadata: { x: 1 } }, { key: 'tpp-b', displayName: 'B' }]);
    expect((await repo.list()).map((s) => s.key)).toEqual(['tpp-a', 'tpp-b', 'tpp-c']);
    const deleted = await repo.delete('tpp-c');
    expect(fields(deleted)).toEqual({ key: 'tpp-c', displayName: null, metadata: { x: 1 } });
    expect(await repo.get('tpp-c')).toBeUndefined();
    expect(await repo.delete('tpp-c')).toBeUndefined();
    const [again] = await repo.upsert([{ key: 'tpp-c', displayName: 'C' }]);
    expect(fields(again)).toEqual({ key: 'tpp-c', displayName: 'C', metadata: null });
    expect(Date.parse(again?.createdAt ?? '')).toBeGreaterThanOrEqual(Date.parse(deleted?.updatedAt ?? ''));
  });
});
