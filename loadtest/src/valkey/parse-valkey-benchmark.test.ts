import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseValkeyBenchmarkCsv, splitCsvLine } from './parse-valkey-benchmark.ts';

// Real valkey-benchmark 8.0.1 output (EVALSHA of the debit script), captured on the project's machine.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('splitCsvLine', () => {
  it('keeps commas and doubled quotes inside quoted fields', () => {
    expect(splitCsvLine('"a,b","say ""hi""",3')).toEqual(['a,b', 'say "hi"', '3']);
    expect(splitCsvLine('')).toEqual(['']);
  });
});

describe('parseValkeyBenchmarkCsv', () => {
  it('reads an unpipelined EVALSHA run', () => {
    expect(parseValkeyBenchmarkCsv(fixture('evalsha-unpipelined.csv'))).toEqual([
      {
        test: 'EVALSHA 5574e4c8226dbf0ff9e7d92b0feabbf8d83010c9 2 tg:{tpp-bench}:balance tg:{tpp-bench}:rt 1 29000000',
        requestsPerSec: 94_250.71,
        avgMs: 0.461,
        minMs: 0.12,
        p50Ms: 0.431,
        p95Ms: 0.815,
        p99Ms: 1.039,
        maxMs: 5.023,
      },
    ]);
  });

  it('reads a pipelined run', () => {
    const [row] = parseValkeyBenchmarkCsv(fixture('evalsha-pipelined.csv'));
    expect(row?.requestsPerSec).toBe(221_893.48);
    expect(row?.p99Ms).toBe(4.143);
  });

  it('throws when the server was not reachable', () => {
    expect(() => parseValkeyBenchmarkCsv(fixture('refused.txt'))).toThrow(/no CSV report[\s\S]*Connection refused/);
  });

  it('throws when a number is missing rather than reporting zero', () => {
    const broken = fixture('evalsha-unpipelined.csv').replace('"94250.71"', '""');
    expect(() => parseValkeyBenchmarkCsv(broken)).toThrow('column rps is not a number');
  });

  it('throws when the columns change', () => {
    const other = fixture('evalsha-unpipelined.csv').replace('"p95_latency_ms",', '');
    expect(() => parseValkeyBenchmarkCsv(other)).toThrow('unexpected columns');
  });
});
