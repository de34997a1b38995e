import { describe, expect, it } from 'vitest';
import { liveSubjectsSql, subjectDeletionRow, subjectId, subjectRows } from './subject-sql.ts';

describe('subject SQL', () => {
  it('writes only the fields an upsert sent, in entry order, and a deletion as a row of the key', () => {
    expect(subjectRows([{ key: 'tpp-1', displayName: 'Alpha', metadata: { a: [1] } }, { key: 'tpp-1', metadata: null }, { key: 'tpp-2' }], 'W')).toEqual([
      { key: 'tpp-1', id: subjectId('tpp-1'), display_name: 'Alpha', display_name_set: 1, metadata: '{"a":[1]}', metadata_set: 1, deleted: 0, write_id: 'W-000000' },
      { key: 'tpp-1', id: subjectId('tpp-1'), display_name: null, display_name_set: 0, metadata: null, metadata_set: 1, deleted: 0, write_id: 'W-000001' },
      { key: 'tpp-2', id: subjectId('tpp-2'), display_name: null, display_name_set: 0, metadata: null, metadata_set: 0, deleted: 0, write_id: 'W-000002' },
    ]);
    expect(subjectDeletionRow('tpp-1', 'D')).toEqual({ key: 'tpp-1', id: subjectId('tpp-1'), display_name: null, display_name_set: 0, metadata: null, metadata_set: 0, deleted: 1, write_id: 'D' });
  });

  it('merges each field from the latest row that set it, after the last deletion, with filters as parameters only', () => {
    const all = liveSubjectsSql();
    expect(all).toEqual({
      query: [
        'SELECT s.key AS key, any(s.id) AS id,',
        '  argMaxIf(tuple(s.display_name), (s.written_at, s.write_id), s.display_name_set = 1).1 AS display_name,',
        '  argMaxIf(tuple(s.metadata), (s.written_at, s.write_id), s.metadata_set = 1).1 AS metadata,',
        '  toString(toUnixTimestamp64Milli(min(s.written_at))) AS created_ms,',
        '  toString(toUnixTimestamp64Milli(max(s.written_at))) AS updated_ms',
        'FROM subjects AS s',
        'INNER JOIN (',
        '  SELECT key, maxIf(written_at, deleted = 1) AS deleted_before FROM subjects',
        '  GROUP BY key) AS d ON s.key = d.key',
        'WHERE s.deleted = 0 AND s.written_at > d.deleted_before',
        'GROUP BY s.key',
        'ORDER BY s.key',
      ].join('\n'),
      params: {},
    });
    const one = liveSubjectsSql({ keyOrId: "x' OR 1", keys: ['a'] });
    expect(one.query).toContain('  WHERE (key = {keyOrId:String} OR id = {keyOrId:String}) AND key IN {keys:Array(String)}\n');
    expect(one.query).toContain('WHERE s.deleted = 0 AND s.written_at > d.deleted_before AND (s.key = {keyOrId:String} OR s.id = {keyOrId:String}) AND s.key IN {keys:Array(String)}\n');
    expect(one.params).toEqual({ keyOrId: "x' OR 1", keys: ['a'] });
  });
});
