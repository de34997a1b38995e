import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../clickhouse/sql-query.ts';
import { newUlid } from '../ulid.ts';
import { liveSubjectsSql, subjectDeletionRow, subjectRows, type SubjectFilter, type SubjectTableRow, type SubjectUpsert } from './subject-sql.ts';

/** A subject as OpenMeter's API shows it: a TPP's display name and metadata. */
export interface Subject {
  id: string;
  key: string;
  displayName: string | null;
  metadata: Record<string, unknown> | null;
  /** ISO 8601, milliseconds, UTC: the first write after its last deletion, by the server's clock. */
  createdAt: string;
  /** ISO 8601, milliseconds, UTC: its latest write. */
  updatedAt: string;
}

interface Row {
  key: string;
  id: string;
  display_name: string | null;
  metadata: string | null;
  created_ms: string;
  updated_ms: string;
}

const iso = (ms: string) => new Date(Number(ms)).toISOString();

/**
 * Subjects in ClickHouse (the `subjects` table). An upsert is one insert of the fields sent, and
 * a read merges each field's latest write: no read-modify-write, so upserts through several
 * processes never undo each other's fields, and every process reads the same subjects.
 */
export class SubjectRepository {
  readonly #ch: ClickHouseClient;
  constructor(ch: ClickHouseClient) {
    this.#ch = ch;
  }

  list(): Promise<Subject[]> {
    return this.#read();
  }

  async get(keyOrId: string): Promise<Subject | undefined> {
    // A key that looks like another subject's id: the key wins.
    const found = await this.#read({ keyOrId });
    return found.find((s) => s.key === keyOrId) ?? found[0];
  }

  /** Writes the upserts in one insert, then answers each entry's subject as stored. */
  async upsert(upserts: readonly SubjectUpsert[]): Promise<Subject[]> {
    await this.#insert(subjectRows(upserts, newUlid()));
    const byKey = new Map((await this.#read({ keys: [...new Set(upserts.map((u) => u.key))] })).map((s) => [s.key, s]));
    return upserts.map((u) => {
      const subject = byKey.get(u.key);
      if (!subject) throw new Error(`subject ${u.key} was written but is not live: did the ClickHouse server's clock go back past its deletion?`);
      return subject;
    });
  }

  /** The subject deleted, or undefined when there is none of that key or id. */
  async delete(keyOrId: string): Promise<Subject | undefined> {
    const subject = await this.get(keyOrId);
    if (subject) await this.#insert([subjectDeletionRow(subject.key, newUlid())]);
    return subject;
  }

  async #insert(rows: SubjectTableRow[]): Promise<void> {
    await this.#ch.insert({ table: 'subjects', format: 'JSONEachRow', values: rows });
  }

  async #read(filter?: SubjectFilter): Promise<Subject[]> {
    return (await queryRows<Row>(this.#ch, liveSubjectsSql(filter))).map((r) => ({
      id: r.id,
      key: r.key,
      displayName: r.display_name,
      metadata: r.metadata === null ? null : (JSON.parse(r.metadata) as Record<string, unknown>),
      createdAt: iso(r.created_ms),
      updatedAt: iso(r.updated_ms),
    }));
  }
}
