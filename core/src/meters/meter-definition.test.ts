import { describe, expect, it } from 'vitest';
import { parseMeters } from './meter.ts';
import { definitionText, readMeterDefinition } from './meter-definition.ts';

const definitionOf = (raw: unknown) => {
  const read = readMeterDefinition(raw);
  if (!('definition' in read)) throw new Error(`refused: ${read.problems.join('; ')}`);
  return read.definition;
};

describe('readMeterDefinition', () => {
  it('reads a MeterCreate in either path form into the meter the configuration would give, named by its slug by default', () => {
    const definition = definitionOf({ slug: 'tokens', eventType: 'prompt', aggregation: 'SUM', valueProperty: '$.data.usage.tokens', groupBy: { model: '$.model' } });
    const [configured] = parseMeters([{ slug: 'tokens', eventType: 'prompt', aggregation: 'SUM', valueProperty: '$.usage.tokens', groupBy: { model: '$.data.model' } }]);
    expect(definition).toEqual({ meter: configured, name: 'tokens', metadata: null });
  });

  it('keeps the name, description, eventFrom and metadata, and reads its stored text back into the same definition', () => {
    const definition = definitionOf({
      slug: 'tokens',
      name: 'Prompt tokens',
      description: 'per model',
      eventType: 'prompt',
      aggregation: 'MAX',
      valueProperty: '$.tokens',
      eventFrom: '2026-01-01T01:00:00+01:00',
      metadata: { team: 'llm' },
    });
    expect(definition.meter.eventFrom).toBe(Date.UTC(2026, 0, 1));
    expect(definition).toMatchObject({ name: 'Prompt tokens', metadata: { team: 'llm' }, meter: { description: 'per model' } });
    expect(definitionOf(JSON.parse(definitionText(definition)))).toEqual(definition);
  });

  it('refuses what the configuration refuses, unknown fields, the subject as a group-by path and bad OpenMeter fields, naming each', () => {
    expect(
      readMeterDefinition({
        slug: 'ok',
        eventType: 'e',
        aggregation: 'COUNT',
        groupBy: { subject: true },
        filter: '$.x',
        name: '',
        description: 7,
        eventFrom: 'yesterday',
        metadata: { n: 1 },
      }),
    ).toEqual({
      problems: [
        'meter.groupBy.subject is reserved: every query may group by subject',
        'meter.filter is not a field of a meter',
        'meter.name must be a string of 1 to 256 characters',
        'meter.description must be a string of at most 1024 characters',
        'meter.eventFrom must be an RFC 3339 date-time',
        'meter.metadata must map at most 64 keys to strings of at most 1024 characters',
      ],
    });
    expect(readMeterDefinition([])).toEqual({ problems: ['meter must be a JSON object'] });
    expect(readMeterDefinition({ slug: 'avg', eventType: 'e', aggregation: 'AVG' })).toEqual({ problems: ['meter.valueProperty is required for AVG'] });
  });
});

describe('parseMeters', () => {
  it('names a slug defined twice once, after that meter', () => {
    expect(() => parseMeters([{ slug: 'a', eventType: 'e', aggregation: 'COUNT' }, { slug: 'a', eventType: 'e', aggregation: 'COUNT' }])).toThrow(
      expect.objectContaining({ problems: ['meters[1].slug "a" is defined twice'] }),
    );
  });
});
