import type { SqlQuery } from '../clickhouse/sql-query.ts';
import { definitionText, type MeterDefinition } from './meter-definition.ts';

/** A row of the `meters` table as inserted; `created_at` is left to the server's clock. */
export interface MeterTableRow {
  slug: string;
  id: string;
  definition: string;
  deleted: 0 | 1;
}

/** The row a create inserts. */
export const meterRow = (id: string, definition: MeterDefinition): MeterTableRow => ({ slug: definition.meter.slug, id, definition: definitionText(definition), deleted: 0 });

/** The row a delete inserts: every row of the slug stamped before it is gone. */
export const meterDeletionRow = (slug: string): MeterTableRow => ({ slug, id: '', definition: '', deleted: 1 });

/**
 * The live meters (of one slug, when given), oldest first. A slug's meter is its earliest row
 * after the slug's last deletion, ties broken by id: a create that finds its own row there made
 * the meter, and a row written while the slug was live (a create that lost a race) is never one
 * — it is older than the next deletion, which takes it away with the meter it lost to.
 */
export const liveMetersSql = (slug?: string): SqlQuery => ({
  query: [
    'SELECT slug, winner.1 AS id, winner.2 AS definition, toString(toUnixTimestamp64Milli(winner.3)) AS created_ms FROM (',
    '  SELECT slug, maxIf(created_at, deleted = 1) AS deleted_before,',
    '    arraySort(m -> (m.3, m.1), arrayFilter(m -> m.3 > deleted_before, groupArrayIf((id, definition, created_at), deleted = 0))) AS live,',
    '    live[1] AS winner',
    '  FROM meters',
    ...(slug === undefined ? [] : ['  WHERE slug = {slug:String}']),
    '  GROUP BY slug)',
    'WHERE notEmpty(live)',
    'ORDER BY winner.3, slug',
  ].join('\n'),
  params: slug === undefined ? {} : { slug },
});
