import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../logger.ts';
import { newUlid } from '../ulid.ts';
import { readMeterDefinition, type MeterDefinition } from './meter-definition.ts';
import { queryRows, type SqlQuery } from '../clickhouse/sql-query.ts';
import { liveMetersSql, meterDeletionRow, meterRow, type MeterTableRow } from './stored-meter-sql.ts';

/** A meter created over the API, as stored. */
export interface StoredMeter {
  id: string;
  definition: MeterDefinition;
  /** ISO 8601, milliseconds, UTC: the server's clock when it was stored. */
  createdAt: string;
}

export type CreateMeterResult = { created: StoredMeter } | { conflict: StoredMeter };

/** What creates and deletes meters: the repository itself, or (SIDECAR_WORKERS > 1) a worker's way to the primary's. */
export interface MeterWrites {
  create(definition: MeterDefinition): Promise<CreateMeterResult>;
  /** The meter deleted, or undefined when no stored meter has that id or slug. */
  delete(idOrSlug: string): Promise<StoredMeter | undefined>;
}

interface Row {
  slug: string;
  id: string;
  definition: string;
  created_ms: string;
}

/**
 * Meters created over the API, in ClickHouse (the `meters` table): every process reads them
 * from there, so a meter created through one sidecar is seen by all. Writes in one process run
 * one at a time, so that a create's check, insert and read-back are not interleaved with
 * another's: two creates of one slug through this repository answer one created, one conflict.
 */
export class MeterRepository implements MeterWrites {
  readonly #ch: ClickHouseClient;
  readonly #logger: Logger;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(ch: ClickHouseClient, logger: Logger) {
    this.#ch = ch;
    this.#logger = logger;
  }

  /** The live meters, oldest first. */
  list(): Promise<StoredMeter[]> {
    return this.#read(liveMetersSql());
  }

  create(definition: MeterDefinition): Promise<CreateMeterResult> {
    return this.#serially(async () => {
      const slug = definition.meter.slug;
      const [existing] = await this.#read(liveMetersSql(slug));
      if (existing) return { conflict: existing };
      const id = newUlid();
      await this.#insert(meterRow(id, definition));
      // Read back: another process may have stored the slug meanwhile, and the earliest row is the meter.
      const [winner] = await this.#read(liveMetersSql(slug));
      if (!winner) throw new Error(`meter ${slug} was stored but is not live: did the ClickHouse server's clock go back past its deletion?`);
      return winner.id === id ? { created: winner } : { conflict: winner };
    });
  }

  delete(idOrSlug: string): Promise<StoredMeter | undefined> {
    return this.#serially(async () => {
      const meter = (await this.list()).find((m) => m.id === idOrSlug || m.definition.meter.slug === idOrSlug);
      if (meter) await this.#insert(meterDeletionRow(meter.definition.meter.slug));
      return meter;
    });
  }

  #serially<T>(write: () => Promise<T>): Promise<T> {
    const result = this.#writes.then(write);
    this.#writes = result.catch(() => undefined);
    return result;
  }

  async #insert(row: MeterTableRow): Promise<void> {
    await this.#ch.insert({ table: 'meters', format: 'JSONEachRow', values: [row] });
  }

  async #read(built: SqlQuery): Promise<StoredMeter[]> {
    const meters: StoredMeter[] = [];
    for (const row of await queryRows<Row>(this.#ch, built)) {
      const read = readMeterDefinition(JSON.parse(row.definition) as unknown);
      // Only definitions this code accepted are stored; one it no longer reads is named, not guessed at.
      if ('problems' in read) this.#logger.error('a stored meter no longer reads as a meter; it is left out', { slug: row.slug, id: row.id, problems: read.problems });
      else meters.push({ id: row.id, definition: read.definition, createdAt: new Date(Number(row.created_ms)).toISOString() });
    }
    return meters;
  }
}
