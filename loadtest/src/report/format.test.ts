import { describe, expect, it } from 'vitest';
import { formatCount, formatCpuBreakdown, formatPipelining, formatDeltaMs, formatMb, formatMs, formatRatio, formatUs, markdownTable, reportTable } from './format.ts';

describe('number formats', () => {
  it('formats counts, ratios, sizes and times', () => {
    expect(formatCount(12_345.6)).toBe('12,346');
    expect(formatRatio(0.8734)).toBe('0.87×');
    expect(formatRatio(1)).toBe('1.00×');
    expect(formatMb(150 * 1024 * 1024)).toBe('150.0 MB');
    expect(formatMs(7.004)).toBe('7.00 ms');
    expect(formatMs(0.0456)).toBe('0.046 ms');
    expect(formatMs(0.5)).toBe('0.50 ms');
    expect(formatMs(0)).toBe('0.00 ms');
    expect(formatUs(123.4)).toBe('123 µs');
    expect(formatUs(undefined)).toBe('—');
    expect(formatCpuBreakdown({ wrk: 20.6, server: 130.2, upstream: 40 }, { server: 'proxy' })).toBe('wrk 21 + proxy 130 + upstream 40 = 191 µs');
    expect(formatCpuBreakdown({})).toBe('—');
    expect(formatPipelining(0.07, 60.4)).toBe('14 debits per write to Valkey; Valkey read 60 per socket read');
    expect(formatPipelining(undefined, undefined)).toBe('');
    expect(formatPipelining(-0.01, undefined)).toBe('');
  });

  it('signs differences', () => {
    expect(formatDeltaMs(1.2)).toBe('+1.20 ms');
    expect(formatDeltaMs(-0.5)).toBe('−0.50 ms');
    expect(formatDeltaMs(0)).toBe('+0.00 ms');
  });
});

describe('markdownTable', () => {
  it('pads columns, right-aligns numbers and escapes pipes', () => {
    expect(
      markdownTable(
        ['name', 'req/s'],
        [
          ['bare | proxy', '8,812'],
          ['gateway', '7,950'],
        ],
      ),
    ).toBe(
      [
        '| name          | req/s |',
        '|---------------|------:|',
        '| bare \\| proxy | 8,812 |',
        '| gateway       | 7,950 |',
      ].join('\n'),
    );
  });

  it('renders the report rows in a fixed column order', () => {
    const table = reportTable([
      { scenario: 'gateway', measure: 'throughput', baseline: '100', system: '90', comparison: '0.90×', target: '≥ 0.85×', verdict: 'pass' },
    ]);
    expect(table.split('\n')[0]).toBe('| scenario | measure    | baseline | system | system vs baseline | target  | verdict |');
    expect(table.split('\n')[2]).toContain('|              0.90× |');
  });
});
