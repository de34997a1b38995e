import { describe, expect, it } from 'vitest';
import { listEventsSql } from './list-events-sql.ts';
import { parseMeters } from './meter.ts';
import { meterSubjectsSql } from './meter-subjects-sql.ts';

const [tokens] = parseMeters([{ slug: 'tokens', eventType: 'prompt', aggregation: 'SUM', valueProperty: '$.tokens' }]);
if (!tokens) throw new Error('meter missing');

describe('meterSubjectsSql', () => {
  it('lists the distinct subjects of the meter type, in its eventFrom and the range (both ends inclusive)', () => {
    expect(meterSubjectsSql(tokens, {})).toEqual({ query: 'SELECT DISTINCT subject\nFROM events\nWHERE type = {eventType:String}\nORDER BY subject', params: { eventType: 'prompt' } });
    expect(meterSubjectsSql({ ...tokens, eventFrom: Date.UTC(2026, 0, 1) }, { from: Date.UTC(2026, 0, 2), to: Date.UTC(2026, 0, 3) })).toEqual({
      query: [
        'SELECT DISTINCT subject',
        'FROM events',
        "WHERE type = {eventType:String} AND time >= {eventFrom:DateTime64(3, 'UTC')} AND time >= {from:DateTime64(3, 'UTC')} AND time <= {to:DateTime64(3, 'UTC')}",
        'ORDER BY subject',
      ].join('\n'),
      params: { eventType: 'prompt', eventFrom: '2026-01-01 00:00:00.000', from: '2026-01-02 00:00:00.000', to: '2026-01-03 00:00:00.000' },
    });
  });
});

describe('listEventsSql', () => {
  const select = 'SELECT source, id, type, subject, toString(toUnixTimestamp64Milli(time)) AS time_ms, data, toString(toUnixTimestamp64Milli(ingested_at)) AS ingested_ms';
  const tail = ['ORDER BY time DESC, ingested_at DESC, source, id', 'LIMIT 1 BY source, id', 'LIMIT {limit:UInt32}'];

  it('lists events newest first from `from`, each (source, id) once, up to the limit', () => {
    expect(listEventsSql({ from: Date.UTC(2026, 0, 1), limit: 100 })).toEqual({
      query: [select, 'FROM events', "WHERE time >= {from:DateTime64(3, 'UTC')}", ...tail].join('\n'),
      params: { from: '2026-01-01 00:00:00.000', limit: 100 },
    });
  });

  it('filters by event time, storing time, and parts of the id and subject, all as parameters', () => {
    const built = listEventsSql({ from: 0, to: 1, ingestedAtFrom: 2, ingestedAtTo: 3, id: '%_', subject: "a' OR 1", limit: 5 });
    expect(built.query.split('\n')[2]).toBe(
      "WHERE time >= {from:DateTime64(3, 'UTC')} AND time <= {to:DateTime64(3, 'UTC')} AND ingested_at >= {ingestedAtFrom:DateTime64(3, 'UTC')} AND ingested_at <= {ingestedAtTo:DateTime64(3, 'UTC')} AND position(id, {id:String}) > 0 AND position(subject, {subject:String}) > 0",
    );
    expect(built.params).toEqual({
      from: '1970-01-01 00:00:00.000',
      to: '1970-01-01 00:00:00.001',
      ingestedAtFrom: '1970-01-01 00:00:00.002',
      ingestedAtTo: '1970-01-01 00:00:00.003',
      id: '%_',
      subject: "a' OR 1",
      limit: 5,
    });
  });
});
