import { describe, expect, it } from 'vitest';
import { readMeterDefinition } from './meter-definition.ts';
import { liveMetersSql, meterDeletionRow, meterRow } from './stored-meter-sql.ts';

describe('stored meter SQL', () => {
  it('reads each live slug once, its earliest row after its last deletion, with the slug as a parameter only', () => {
    const inner = [
      '  SELECT slug, maxIf(created_at, deleted = 1) AS deleted_before,',
      '    arraySort(m -> (m.3, m.1), arrayFilter(m -> m.3 > deleted_before, groupArrayIf((id, definition, created_at), deleted = 0))) AS live,',
      '    live[1] AS winner',
      '  FROM meters',
    ];
    const head = 'SELECT slug, winner.1 AS id, winner.2 AS definition, toString(toUnixTimestamp64Milli(winner.3)) AS created_ms FROM (';
    const tail = ['  GROUP BY slug)', 'WHERE notEmpty(live)', 'ORDER BY winner.3, slug'];
    expect(liveMetersSql()).toEqual({ query: [head, ...inner, ...tail].join('\n'), params: {} });
    expect(liveMetersSql("x' OR 1")).toEqual({ query: [head, ...inner, '  WHERE slug = {slug:String}', ...tail].join('\n'), params: { slug: "x' OR 1" } });
  });

  it('inserts a definition in its stored form, and a deletion as a row of the slug', () => {
    const read = readMeterDefinition({ slug: 'tokens', eventType: 'prompt', aggregation: 'SUM', valueProperty: '$.data.tokens' });
    if (!('definition' in read)) throw new Error('refused');
    expect(meterRow('01ID', read.definition)).toEqual({
      slug: 'tokens',
      id: '01ID',
      definition: '{"slug":"tokens","name":"tokens","eventType":"prompt","aggregation":"SUM","valueProperty":"$.tokens","groupBy":{},"metadata":null}',
      deleted: 0,
    });
    expect(meterDeletionRow('tokens')).toEqual({ slug: 'tokens', id: '', definition: '', deleted: 1 });
  });
});
