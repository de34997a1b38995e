import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseWrkOutput, type WrkResult } from '../wrk/parse-wrk-output.ts';
import { comparePaired, cpuBreakdownUs, cpuModelRatio, cpuPerRequestUs, extraWritesPerRequest, median, serverCpuRatios, verdict, type CpuRun } from './compare.ts';

const real = parseWrkOutput(readFileSync(new URL('../wrk/fixtures/upstream-latency.txt', import.meta.url), 'utf8'));
const run = (requestsPerSec: number, p50Ms: number, p99Ms: number): WrkResult => ({
  ...real,
  requestsPerSec,
  percentiles: { p50Ms, p75Ms: p50Ms, p90Ms: p99Ms, p99Ms },
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });
  it('refuses an empty list', () => {
    expect(() => median([])).toThrow('median of nothing');
  });
});

describe('comparePaired', () => {
  it('compares each round with its neighbour, so drift across the run cancels', () => {
    // The machine slows down by half between rounds; the system is 0.9× in both.
    const c = comparePaired([run(10_000, 2, 7), run(5_000, 4, 14)], [run(9_000, 2.5, 8), run(4_500, 5, 16)]);
    expect(c.throughputRatios).toEqual([0.9, 0.9]);
    expect(c.throughputRatio).toBeCloseTo(0.9, 10);
    expect(c.addedP99sMs).toEqual([1, 2]);
    expect(c.addedP99Ms).toBe(1.5);
    expect(c.addedP50Ms).toBe(0.75);
    expect(c.baseline.requestsPerSec).toBe(7_500);
    expect(c.system.p99Ms).toBe(12);
    expect(c.baseline.requests).toBe(2 * real.requests);
  });

  it('keeps one disturbed round from deciding the ratio', () => {
    const c = comparePaired(
      [run(10_000, 2, 7), run(10_000, 2, 7), run(10_000, 2, 7)],
      [run(9_000, 2, 8), run(3_000, 9, 90), run(8_800, 2, 8)],
    );
    expect(c.throughputRatio).toBe(0.88);
    expect(c.addedP99Ms).toBe(1);
  });

  it('needs paired runs with a latency distribution', () => {
    expect(() => comparePaired([run(1, 1, 1)], [])).toThrow('as many system runs');
    expect(() => comparePaired([], [])).toThrow('as many system runs');
    const bare = { ...run(1, 1, 1), percentiles: undefined };
    expect(() => comparePaired([bare], [bare])).toThrow('--latency');
  });
});

describe('verdict', () => {
  it('passes on the target itself and misses beyond it', () => {
    expect(verdict(0.85, 0.85, 'atLeast')).toBe('pass');
    expect(verdict(0.849, 0.85, 'atLeast')).toBe('MISS');
    expect(verdict(2, 2, 'atMost')).toBe('pass');
    expect(verdict(2.01, 2, 'atMost')).toBe('MISS');
  });
});

describe('cpuPerRequestUs', () => {
  it('takes the median of each run’s CPU time per request', () => {
    const runs: CpuRun[] = [
      { requests: 10_000, cpuMs: { server: 500, valkey: 100 } },
      { requests: 20_000, cpuMs: { server: 1_200, valkey: 180 } },
      { requests: 10_000, cpuMs: { server: 900 } },
    ];
    expect(cpuPerRequestUs(runs, 'server')).toBe(60);
    expect(cpuPerRequestUs(runs, 'valkey')).toBe(9.5);
    expect(cpuPerRequestUs(runs, 'upstream')).toBeUndefined();
    expect(cpuBreakdownUs(runs)).toEqual({ server: 60, valkey: 9.5 });
  });
});

describe('cpuModelRatio', () => {
  it('divides the CPU every process spends per request, baseline by system', () => {
    const baseline: CpuRun[] = [{ requests: 1_000, cpuMs: { wrk: 20, server: 100, upstream: 40 } }];
    // The system adds 40 µs in the proxy and 10 µs in Valkey, a role the baseline does not have.
    const system: CpuRun[] = [{ requests: 2_000, cpuMs: { wrk: 40, server: 280, upstream: 80, valkey: 20 } }];
    expect(cpuModelRatio(baseline, system)).toBeCloseTo(160 / 210, 10);
  });

  it('is undefined without paired runs', () => {
    expect(cpuModelRatio([], [])).toBeUndefined();
  });
});

describe('serverCpuRatios', () => {
  it('divides the server CPU per request of each round, system by baseline, and takes the median', () => {
    const baseline: CpuRun[] = [
      { requests: 1_000, cpuMs: { server: 50, wrk: 10 } },
      { requests: 1_000, cpuMs: { server: 60, wrk: 10 } },
      { requests: 1_000, cpuMs: { server: 50, wrk: 10 } },
    ];
    // Round 2's machine was slower for both: its ratio is the same as round 1's.
    const system: CpuRun[] = [
      { requests: 500, cpuMs: { server: 35, valkey: 5 } },
      { requests: 500, cpuMs: { server: 42 } },
      { requests: 500, cpuMs: { server: 50 } },
    ];
    const r = serverCpuRatios(baseline, system);
    expect(r.ratios.map((x) => Number(x.toFixed(6)))).toEqual([1.4, 1.4, 2]);
    expect(r.median).toBeCloseTo(1.4, 10);
  });

  it('leaves out rounds without a server measurement, and is undefined without any', () => {
    expect(serverCpuRatios([{ requests: 10, cpuMs: {} }], [{ requests: 10, cpuMs: { server: 1 } }])).toEqual({ ratios: [], median: undefined });
  });
});

describe('extraWritesPerRequest', () => {
  const run = (writes: number) => ({ serverSyscallsPerRequest: { reads: 2, writes } });
  it('is the median system writes minus the median baseline writes', () => {
    expect(extraWritesPerRequest([run(3), run(3.02)], [run(3.06), run(3.1)])).toBeCloseTo(0.07, 10);
  });
  it('is undefined when a side was not measured', () => {
    expect(extraWritesPerRequest([{ serverSyscallsPerRequest: undefined }], [run(3)])).toBeUndefined();
  });
});
