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
    const r = validateEvent({ specversion: '1.0', type: 'tokens', source: 's', id: '1', subject: 'c1', data: { n: 5 } }, 1000);
    expect(r).toMatchObject({ ok: true, event: { timeMs: 1000, cost: 0, decision: '', data: '{"n":5}' } });
  });

  it.each([
    [[], 'not a JSON object'],
    [{ ...good, specversion: '0.3' }, 'specversion must be "1.0"'],
    [{ ...good, id: '' }, 'id must be a string of 1 to 256 characters'],
    [{ ...good, source: 5 }, 'source must be a string of 1 to 256 characters'],
    [{ ...good, type: undefined }, 'type must be a string of 1 to 256 characters'],
    [{ ...good, subject: 'a b' }, 'subject must match [A-Za-z0-9._:-]{1,128}'],
    [{ ...good, time: 'yesterday' }, 'time must be an RFC 3339 timestamp'],
    [{ ...good, time: undefined }, 'time is required'],
    [{ ...good, data: 'x' }, 'data must be a JSON object'],
    [{ ...good, data: { ...good.data, cost: 1.5 } }, 'data.cost must be a non-negative integer'],
    [{ ...good, data: { ...good.data, cost: '1' } }, 'data.cost must be a non-negative integer'],
    [{ ...good, data: { ...good.data, status_code: '200' } }, 'data.status_code must be a non-negative integer'],
    [{ ...good, data: { ...good.data, decision: 'maybe' } }, 'data.decision must be one of debited, denied, refunded, unverified, free'],
  ])('rejects %j: %s', (value, reason) => {
    expect(validateEvent(value)).toEqual({ ok: false, reason });
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
