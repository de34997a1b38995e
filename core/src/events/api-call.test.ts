import { describe, expect, it } from 'vitest';
import { buildApiCallEvent, eventTime } from './api-call.ts';

describe('buildApiCallEvent', () => {
  const data = { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 45, cost: 1, decision: 'debited' as const };

  it('builds a CloudEvents 1.0 api.call with millisecond time', () => {
    const event = buildApiCallEvent({ source: 'open-banking-api', subject: 'tpp-1', timeMs: Date.UTC(2026, 0, 15, 10, 30, 0, 123), data, id: 'e-1' });
    expect(JSON.parse(JSON.stringify(event))).toEqual({
      specversion: '1.0',
      type: 'api.call',
      source: 'open-banking-api',
      id: 'e-1',
      time: '2026-01-15T10:30:00.123Z',
      subject: 'tpp-1',
      datacontenttype: 'application/json',
      data,
    });
  });

  it('gives every event its own id', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => buildApiCallEvent({ source: 's', subject: 't', timeMs: 0, data }).id));
    expect(ids.size).toBe(1000);
  });

  it('gives time-ordered ids (UUIDv7), so the ids of later calls sort after earlier ones', () => {
    const first = buildApiCallEvent({ source: 's', subject: 't', timeMs: 0, data }).id;
    // UUIDv7 orders by the millisecond of creation: the next id comes from a later millisecond.
    for (const start = Date.now(); Date.now() <= start; );
    const later = buildApiCallEvent({ source: 's', subject: 't', timeMs: 0, data }).id;
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first < later).toBe(true);
  });

  it('writes the time as Date#toISOString does, for any millisecond', () => {
    const edges = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -999, -1000, -1001, 59_999, 60_000, 1.5, 999.9, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001];
    let x = 0x2545f491;
    const random = Array.from({ length: 2_000 }, () => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return Date.UTC(2026, 10, 22) + (x % 400_000_000) - 200_000_000;
    });
    for (const ms of [...edges, ...random, ...edges]) expect(eventTime(ms), String(ms)).toBe(new Date(Math.floor(ms)).toISOString());
  });

  it('stamps each event with its own millisecond, whichever came before', () => {
    const times = [5, 5, 6, 5, 86_400_000].map((timeMs) => buildApiCallEvent({ source: 's', subject: 't', timeMs, data }).time);
    expect(times).toEqual([
      '1970-01-01T00:00:00.005Z',
      '1970-01-01T00:00:00.005Z',
      '1970-01-01T00:00:00.006Z',
      '1970-01-01T00:00:00.005Z',
      '1970-01-02T00:00:00.000Z',
    ]);
  });
});
