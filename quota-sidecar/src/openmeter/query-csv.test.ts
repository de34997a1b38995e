import { describe, expect, it } from 'vitest';
import { meterRowsCsv } from './query-csv.ts';

const row = (value: number, subject: string | null, groupBy: Record<string, string | null>) => ({
  value,
  windowStart: '2026-01-15T10:00:00Z',
  windowEnd: '2026-01-15T11:00:00Z',
  subject,
  groupBy,
});

describe('meterRowsCsv', () => {
  it('has window_start, window_end, subject when grouped by it, the other keys in order, then the value with six decimals', () => {
    expect(meterRowsCsv(['method', 'subject', 'endpoint'], [row(3, 'tpp-1', { method: 'GET', endpoint: '/a' }), row(0.5, 'tpp-2', { method: 'POST', endpoint: null })])).toBe(
      'window_start,window_end,subject,method,endpoint,value\n' +
        '2026-01-15T10:00:00Z,2026-01-15T11:00:00Z,tpp-1,GET,/a,3.000000\n' +
        '2026-01-15T10:00:00Z,2026-01-15T11:00:00Z,tpp-2,POST,,0.500000\n',
    );
  });

  it('has only the header for no rows, and no subject column unless grouped by it', () => {
    expect(meterRowsCsv([], [])).toBe('window_start,window_end,value\n');
  });

  it('quotes the fields that need it', () => {
    expect(meterRowsCsv(['endpoint'], [row(1, null, { endpoint: '/a,"b"\n c' }), row(1, null, { endpoint: ' lead' })])).toBe(
      'window_start,window_end,endpoint,value\n' +
        '2026-01-15T10:00:00Z,2026-01-15T11:00:00Z,"/a,""b""\n c",1.000000\n' +
        '2026-01-15T10:00:00Z,2026-01-15T11:00:00Z," lead",1.000000\n',
    );
  });
});
