import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../clickhouse/client.ts';
import { migrate } from '../clickhouse/migrations.ts';
import { clickHouseTime } from '../clickhouse/time.ts';
import { eventValidationError, meterValueError } from './event-meter-errors.ts';
import { parseMeters } from './meter.ts';
import { queryMeter } from './query-meter.ts';

const meters = parseMeters([
  { slug: 'calls', eventType: 'api.call', aggregation: 'COUNT' },
  { slug: 'latency', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.data.timing.ms' },
  { slug: 'users', eventType: 'login', aggregation: 'UNIQUE_COUNT', valueProperty: '$.user' },
]);
const [calls, latency, users] = meters;
if (!calls || !latency || !users) throw new Error('meters missing');

describe('eventValidationError', () => {
  it('names each meter of the event type that leaves the event out, one per line', () => {
    const two = parseMeters([
      { slug: 'a', eventType: 'e', aggregation: 'MAX', valueProperty: '$.v' },
      { slug: 'b', eventType: 'e', aggregation: 'LATEST', valueProperty: '$.w' },
    ]);
    expect(eventValidationError(two, 'e', { v: 'NaN' })).toBe('meter a: value property "$.v" is not a number: "NaN"\nmeter b: missing value property "$.w"');
    expect(eventValidationError(meters, 'api.call', { timing: { ms: 3 } })).toBeUndefined();
    expect(eventValidationError(meters, 'page.view', {})).toBe('no meter found for event type: page.view');
  });

  it('says why a value is left out, and shows at most 64 characters of a text', () => {
    const error = (data: unknown) => meterValueError(latency, data);
    expect(error({})).toBe('missing value property "$.timing.ms"');
    expect(error({ timing: 5 })).toBe('missing value property "$.timing.ms"');
    expect(error({ timing: { ms: null } })).toBe('value property "$.timing.ms" is null');
    expect(error({ timing: { ms: true } })).toBe('value property "$.timing.ms" is a boolean, not a number');
    expect(error({ timing: { ms: [1] } })).toBe('value property "$.timing.ms" is an array, not a number');
    expect(error({ timing: { ms: '1e999' } })).toBe('value property "$.timing.ms" is not finite: "1e999"');
    expect(error({ timing: { ms: 'x'.repeat(100) } })).toBe(`value property "$.timing.ms" is not a number: "${'x'.repeat(64)}…"`);
    expect(meterValueError(users, { user: { id: 1 } })).toBe('value property "$.user" is an object, not a scalar');
    expect(meterValueError(calls, null)).toBeUndefined();
  });
});

describe('eventValidationError agrees with the meter query', () => {
  const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-event-errors-')) });
  beforeAll(() => migrate(ch));

  // JSON texts as sent; each is one event, stored as every path stores data (parsed and
  // serialised again, so 1e999 is stored as null), and the query says whether it contributes.
  const VALUES = ['1', '0', '-0', '-3.5', '1e308', '1e999', '123456789012345678901234567890', '"12"', '"+5"', '"5."', '".5"', '"1e3"', '"1e999"', '"NaN"', '"Inf"', '"0x10"', '""', '" 5"', 'true', 'null', '{"a":1}', '[1]'];
  const texts = [...VALUES.map((v) => `{"timing":{"ms":${v}},"user":${v}}`), '{}', '{"timing":[1]}'];

  it.each(texts)('%s', async (text) => {
    const subject = `s-${texts.indexOf(text)}`;
    await ch.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: ['api.call', 'login'].map((type) => ({ source: 't', id: `${type}-${subject}`, type, subject, time: clickHouseTime(Date.UTC(2026, 0, 1)), data: JSON.stringify(JSON.parse(text)), cost: 0, decision: '' })),
    });
    for (const meter of [latency, users]) {
      const answer = await queryMeter(ch, meter, { windowTimeZone: 'UTC', subjects: [subject], groupBy: ['subject'], filterGroupBy: {} });
      expect({ meter: meter.slug, contributes: answer.data.length === 1 }).toEqual({ meter: meter.slug, contributes: meterValueError(meter, JSON.parse(JSON.stringify(JSON.parse(text)))) === undefined });
    }
  });
});
