import { describe, expect, it } from 'vitest';
import { parseEvent, validateEvent } from './validate-event.ts';

const good = {
  specversion: '1.0',
  type: 'api.call',
  source: 'open-banking-api',
  id: 'e-1',
  time: '2026-01-15T10:30:00.123Z',
  subject: 'tpp-12345',
  data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 45, cost: 1, decision: 'debited' },
};

const TIME_FORMAT = 'time must be an RFC 3339 date-time naming a real instant, such as 2026-01-15T10:30:00.123Z';
/** `{ a: { a: … } }`, `levels` objects deep. */
const deep = (levels: number): Record<string, unknown> => {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i += 1) value = { a: value };
  return value;
};

describe('validateEvent', () => {
  it('normalises a valid api.call', () => {
    expect(validateEvent(good)).toEqual({
      ok: true,
      event: {
        source: 'open-banking-api',
        id: 'e-1',
        type: 'api.call',
        subject: 'tpp-12345',
        timeMs: Date.UTC(2026, 0, 15, 10, 30, 0, 123),
        data: JSON.stringify(good.data),
        cost: 1,
        decision: 'debited',
      },
    });
  });

  it('accepts other event types with any data and fills in a missing time', () => {
    const r = validateEvent({ specversion: '1.0', type: 'tokens', source: 's', id: '1', subject: 'c1', data: { n: 5 } }, { defaultTimeMs: Date.UTC(2026, 0, 1) });
    expect(r).toMatchObject({ ok: true, event: { timeMs: Date.UTC(2026, 0, 1), cost: 0, decision: '', data: '{"n":5}' } });
  });

  it.each([
    [[], 'not a JSON object'],
    [{ ...good, specversion: '0.3' }, 'specversion must be "1.0"'],
    [{ ...good, id: '' }, 'id must be a string of 1 to 256 characters of Unicode text'],
    [{ ...good, source: 5 }, 'source must be a string of 1 to 256 characters of Unicode text'],
    [{ ...good, type: undefined }, 'type must be a string of 1 to 256 characters of Unicode text'],
    [{ ...good, source: '\ud800' }, 'source must be a string of 1 to 256 characters of Unicode text'],
    [{ ...good, id: 'a\udfffb' }, 'id must be a string of 1 to 256 characters of Unicode text'],
    [{ ...good, subject: 'a b' }, 'subject must match [A-Za-z0-9._:-]{1,128}'],
    [{ ...good, time: 'yesterday' }, TIME_FORMAT],
    [{ ...good, time: '2026-02-30T10:00:00Z' }, TIME_FORMAT],
    [{ ...good, time: '2026-01-15T24:00:00Z' }, TIME_FORMAT],
    [{ ...good, time: '2026-01-15T10:00:60Z' }, TIME_FORMAT],
    [{ ...good, time: '2026-01-15T10:00:00+24:00' }, TIME_FORMAT],
    [{ ...good, time: '2026-01-15T10:00:00' }, TIME_FORMAT],
    [{ ...good, time: 1736937000000 }, TIME_FORMAT],
    [{ ...good, time: '0001-01-01T00:00:00Z' }, 'time must be from 1900 to 2299'],
    [{ ...good, time: '1899-12-31T23:59:59Z' }, 'time must be from 1900 to 2299'],
    [{ ...good, time: '2300-01-01T00:00:00Z' }, 'time must be from 1900 to 2299'],
    [{ ...good, data_base64: 'PHhtbC8+', data: undefined, datacontenttype: 'application/xml' }, 'data_base64 is not accepted: data must be a JSON object or null'],
    [{ ...good, datacontenttype: 'application/xml' }, 'datacontenttype must be application/json'],
    [{ ...good, data: { ...good.data, cost: 1_000_001 } }, 'data.cost must be at most 1000000 (credits.maxCost)'],
    [{ ...good, data: { ...good.data, cost: 9007199254740991 } }, 'data.cost must be at most 1000000 (credits.maxCost)'],
    [{ ...good, data: deep(33) }, 'data must not nest deeper than 32 levels'],
    [{ ...good, type: 'tokens', data: deep(9000) }, 'data must not nest deeper than 32 levels'],
    [{ ...good, time: undefined }, 'time is required'],
    [{ ...good, data: 'x' }, 'data must be a JSON object or null'],
    [{ ...good, data: [1] }, 'data must be a JSON object or null'],
    [{ ...good, data: { ...good.data, cost: 1.5 } }, 'data.cost must be a non-negative integer'],
    [{ ...good, data: { ...good.data, cost: '1' } }, 'data.cost must be a non-negative integer'],
    [{ ...good, data: { ...good.data, status_code: '200' } }, 'data.status_code must be a non-negative integer'],
    [{ ...good, data: { ...good.data, decision: 'maybe' } }, 'data.decision must be one of debited, denied, refunded, unverified, free, metered'],
    [{ ...good, data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 45 } }, 'data.cost must be a non-negative integer'],
  ])('rejects case %#: %s', (value, reason) => {
    expect(validateEvent(value)).toEqual({ ok: false, reason });
  });
});

describe('validateEvent: times, the acceptance window and the cost bound', () => {
  const arrivalMs = Date.UTC(2026, 0, 15, 10, 30);
  const at = (time: string, checks = {}) => validateEvent({ ...good, time }, { arrivalMs, ...checks });

  it('takes times inside the window, lower-case t and z, offsets and more than three fraction digits', () => {
    expect(at('2025-12-15T10:30:00.000Z')).toMatchObject({ ok: true, event: { timeMs: arrivalMs - 31 * 86_400_000 } });
    expect(at('2026-01-15T10:35:00.000Z')).toMatchObject({ ok: true, event: { timeMs: arrivalMs + 300_000 } });
    expect(at('2026-01-15t11:30:00.123456+01:00')).toMatchObject({ ok: true, event: { timeMs: arrivalMs + 123 } });
    expect(at('2024-02-29T10:00:00z', { arrivalMs: Date.UTC(2024, 1, 29, 10) })).toMatchObject({ ok: true });
  });

  it('refuses a time more than 31 days old or more than 5 minutes ahead of its arrival, and takes another window', () => {
    expect(at('2025-12-15T10:29:59.999Z')).toEqual({ ok: false, reason: 'time must be at most 31 days before the event arrives' });
    expect(at('2026-01-15T10:35:00.001Z')).toEqual({ ok: false, reason: 'time must be at most 5 minutes after the event arrives' });
    expect(at('2036-01-15T10:30:00Z')).toEqual({ ok: false, reason: 'time must be at most 5 minutes after the event arrives' });
    const window = { maxAgeMs: 3_600_000, maxAheadMs: 1000 };
    expect(at('2026-01-15T09:29:00Z', { window })).toEqual({ ok: false, reason: 'time must be at most 60 minutes before the event arrives' });
    expect(at('2026-01-15T10:30:01Z', { window })).toMatchObject({ ok: true });
  });

  it('measures a missing time (stamped with the arrival) like any other', () => {
    expect(validateEvent({ ...good, time: undefined }, { defaultTimeMs: arrivalMs, arrivalMs })).toMatchObject({ ok: true, event: { timeMs: arrivalMs } });
  });

  it('bounds the cost by maxCost, and takes metered and data null', () => {
    const priced = { ...good, data: { ...good.data, cost: 10, decision: 'metered' } };
    expect(validateEvent(priced, { maxCost: 10 })).toMatchObject({ ok: true, event: { cost: 10, decision: 'metered' } });
    expect(validateEvent(priced, { maxCost: 9 })).toEqual({ ok: false, reason: 'data.cost must be at most 9 (credits.maxCost)' });
    expect(validateEvent({ ...good, type: 'tokens', data: null })).toMatchObject({ ok: true, event: { data: '{}' } });
  });

  it('takes data 32 levels deep and an api.call without status_code or response_time_ms', () => {
    expect(validateEvent({ ...good, type: 'tokens', data: deep(32) })).toMatchObject({ ok: true });
    expect(validateEvent({ ...good, data: { endpoint: '/a', method: 'GET', cost: 1, decision: 'metered' } })).toMatchObject({ ok: true });
  });
});

describe('parseEvent', () => {
  it('rejects what is not JSON', () => {
    expect(parseEvent(Buffer.from('{nope'))).toEqual({ ok: false, reason: 'not JSON' });
    expect(parseEvent(null)).toEqual({ ok: false, reason: 'empty message' });
  });
  it('parses bytes', () => {
    expect(parseEvent(Buffer.from(JSON.stringify(good))).ok).toBe(true);
  });
});
