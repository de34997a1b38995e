import { describe, expect, it } from 'vitest';
import { TollgateError } from '@tollgate/core';
import { parseMeters } from '@tollgate/core/meters';
import { canonicalTimeZone, parseMeterQuery, parseTimestamp } from './query-params.ts';

const [meter] = parseMeters([
  { slug: 'api_calls', eventType: 'api.call', aggregation: 'COUNT', groupBy: { subject: true, endpoint: '$.data.endpoint', method: '$.data.method' } },
]);
if (!meter) throw new Error('no meter');

const parse = (query: string) => parseMeterQuery(meter, new URLSearchParams(query));

describe('parseTimestamp', () => {
  it.each([
    ['2026-01-15T10:30:00Z', Date.UTC(2026, 0, 15, 10, 30)],
    ['2026-01-15T10:30:00.123Z', Date.UTC(2026, 0, 15, 10, 30, 0, 123)],
    ['2026-01-15t10:30:00z', Date.UTC(2026, 0, 15, 10, 30)],
    ['2026-01-15T11:30:00+01:00', Date.UTC(2026, 0, 15, 10, 30)],
    ['2026-01-15T11:30:00 01:00', Date.UTC(2026, 0, 15, 10, 30)],
    ['2026-01-15T05:30:00-05:00', Date.UTC(2026, 0, 15, 10, 30)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('%s is %i', (raw, ms) => {
    expect(parseTimestamp(raw)).toBe(ms);
  });

  it.each(['2026-01-15', '2026-01-15T10:30Z', '2026-01-15T10:30:00', '2025-02-29T00:00:00Z', '2026-01-15T24:00:00Z', '2026-13-01T00:00:00Z', '1736937000', ''])(
    'refuses %j',
    (raw) => {
      expect(parseTimestamp(raw)).toBeUndefined();
    },
  );
});

describe('canonicalTimeZone', () => {
  it.each([
    ['UTC', 'UTC'],
    ['utc', 'UTC'],
    ['Europe/Berlin', 'Europe/Berlin'],
    ['america/new_york', 'America/New_York'],
    ['Etc/GMT+5', 'Etc/GMT+5'],
  ])('%s → %s', (raw, zone) => {
    expect(canonicalTimeZone(raw)).toBe(zone);
  });

  it.each(['Mars/Olympus', '+01:00', '', 'Europe/Berlin; DROP TABLE events'])('refuses %j', (raw) => {
    expect(canonicalTimeZone(raw)).toBeUndefined();
  });
});

describe('parseMeterQuery', () => {
  it('defaults to the whole time range, no window, UTC, no grouping', () => {
    expect(parse('')).toEqual({ windowTimeZone: 'UTC', subjects: [], groupBy: [], filterGroupBy: {} });
  });

  it('reads every OpenMeter parameter; subject also groups by subject, and repeats are merged', () => {
    expect(
      parse(
        'from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z&windowSize=HOUR&windowTimeZone=Europe/London' +
          '&subject=tpp-1&subject=tpp-2&subject=tpp-1&groupBy=method&groupBy=method&filterGroupBy[endpoint]=/a&clientId=abc&unknown=1',
      ),
    ).toEqual({
      from: Date.UTC(2026, 0, 15),
      to: Date.UTC(2026, 0, 16),
      windowSize: 'HOUR',
      windowTimeZone: 'Europe/London',
      subjects: ['tpp-1', 'tpp-2'],
      groupBy: ['method', 'subject'],
      filterGroupBy: { endpoint: ["/a"] },
    });
  });

  it('keeps the group-by order asked for', () => {
    expect(parse('groupBy=method&groupBy=subject&groupBy=endpoint').groupBy).toEqual(['method', 'subject', 'endpoint']);
  });

  it('refuses keys inherited from Object.prototype as group-by keys', () => {
    expect(() => parse('groupBy=constructor')).toThrow(TollgateError);
    expect(() => parse('filterGroupBy[toString]=x')).toThrow(TollgateError);
  });

  it('lists every problem in one 400', () => {
    let error: unknown;
    try {
      parse('filterCustomerId=c1&from=soon&to=2026-01-15T00:00:00Z&windowSize=YEAR&windowTimeZone=Nowhere&subject=a b&groupBy=x&filterGroupBy[y]=1');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TollgateError);
    expect(error).toMatchObject({
      status: 400,
      extensions: {
        invalidParameters: [
          'filterCustomerId is not supported; use filterGroupBy[key]=value and subject.',
          'from must be an RFC 3339 date-time, such as 2026-01-15T10:30:00Z; got "soon".',
          'windowSize must be one of MINUTE, HOUR, DAY, MONTH; got "YEAR".',
          'windowTimeZone must be an IANA time zone, such as Europe/London; got "Nowhere".',
          'subject "a b" must match [A-Za-z0-9._:-]{1,128}.',
          'groupBy "x" is not a group-by key of meter api_calls.',
          'filterGroupBy[y] is not a group-by key of meter api_calls.',
        ],
      },
    });
  });
});
