import type { SqlQuery } from '../clickhouse/sql-query.ts';
import { stableUlid } from '../ulid.ts';

/** OpenMeter's `SubjectUpsert`, checked: a field left out is left as it is, null clears it. */
export interface SubjectUpsert {
  key: string;
  displayName?: string | null;
  metadata?: Record<string, unknown> | null;
}

/** A row of the `subjects` table as inserted; `written_at` is left to the server's clock. */
export interface SubjectTableRow {
  key: string;
  id: string;
  display_name: string | null;
  display_name_set: 0 | 1;
  metadata: string | null;
  metadata_set: 0 | 1;
  deleted: 0 | 1;
  write_id: string;
}

/** A subject's id: derived from its key, so every process and every write gives the same one. */
export const subjectId = (key: string): string => stableUlid(`subject:${key}`);

/**
 * The rows of one upsert request, one per entry with the fields it sent. Rows of one insert get
 * one server time, so `write_id` (the request's, then the entry's position) orders them: the later
 * entry for a key wins, field by field.
 */
export const subjectRows = (upserts: readonly SubjectUpsert[], writeId: string): SubjectTableRow[] =>
  upserts.map((u, i) => ({
    key: u.key,
    id: subjectId(u.key),
    display_name: u.displayName ?? null,
    display_name_set: u.displayName === undefined ? 0 : 1,
    metadata: u.metadata === undefined || u.metadata === null ? null : JSON.stringify(u.metadata),
    metadata_set: u.metadata === undefined ? 0 : 1,
    deleted: 0,
    write_id: `${writeId}-${String(i).padStart(6, '0')}`,
  }));

/** The row a delete inserts: every row of the key written before it is gone. */
export const subjectDeletionRow = (key: string, writeId: string): SubjectTableRow => ({
  key,
  id: subjectId(key),
  display_name: null,
  display_name_set: 0,
  metadata: null,
  metadata_set: 0,
  deleted: 1,
  write_id: writeId,
});

/** Which subjects to read: all, the one with this key or id, or those of these keys. */
export interface SubjectFilter {
  keyOrId?: string;
  keys?: readonly string[];
}

/**
 * The live subjects (those of the filter), by key. Only rows after the key's last deletion count;
 * each field is that of the latest row that set it (a tuple, so that a null that clears a field
 * is taken, not skipped as aggregates skip nulls), or null when none did.
 */
export const liveSubjectsSql = ({ keyOrId, keys }: SubjectFilter = {}): SqlQuery => {
  const params: Record<string, unknown> = {};
  const match = (alias: string): string[] => {
    const conditions: string[] = [];
    if (keyOrId !== undefined) conditions.push(`(${alias}key = {keyOrId:String} OR ${alias}id = {keyOrId:String})`);
    if (keys !== undefined) conditions.push(`${alias}key IN {keys:Array(String)}`);
    return conditions;
  };
  if (keyOrId !== undefined) params.keyOrId = keyOrId;
  if (keys !== undefined) params.keys = keys;
  const inner = match('');
  const order = '(s.written_at, s.write_id)';
  return {
    query: [
      'SELECT s.key AS key, any(s.id) AS id,',
      `  argMaxIf(tuple(s.display_name), ${order}, s.display_name_set = 1).1 AS display_name,`,
      `  argMaxIf(tuple(s.metadata), ${order}, s.metadata_set = 1).1 AS metadata,`,
      '  toString(toUnixTimestamp64Milli(min(s.written_at))) AS created_ms,',
      '  toString(toUnixTimestamp64Milli(max(s.written_at))) AS updated_ms',
      'FROM subjects AS s',
      'INNER JOIN (',
      '  SELECT key, maxIf(written_at, deleted = 1) AS deleted_before FROM subjects',
      ...(inner.length > 0 ? [`  WHERE ${inner.join(' AND ')}`] : []),
      '  GROUP BY key) AS d ON s.key = d.key',
      `WHERE ${['s.deleted = 0', 's.written_at > d.deleted_before', ...match('s.')].join(' AND ')}`,
      'GROUP BY s.key',
      'ORDER BY s.key',
    ].join('\n'),
    params,
  };
};
