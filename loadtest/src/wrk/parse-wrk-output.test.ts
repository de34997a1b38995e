import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeFailures, failedRequests, parseWrkBytes, parseWrkOutput, parseWrkTime, WrkParseError } from './parse-wrk-output.ts';

// Real wrk 4.1.0 output, captured on the project's machine.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('parseWrkTime / parseWrkBytes', () => {
  it('reads every unit wrk prints', () => {
    expect(parseWrkTime('316.00us')).toBeCloseTo(0.316, 6);
    expect(parseWrkTime('3.07ms')).toBe(3.07);
    expect(parseWrkTime('1.51s ')).toBe(1510);
    expect(parseWrkTime('1.50m')).toBe(90_000);
    expect(parseWrkBytes('478.86KB')).toBeCloseTo(478.86 * 1024, 6);
    expect(parseWrkBytes('27.58MB')).toBeCloseTo(27.58 * 1024 * 1024, 3);
    expect(parseWrkBytes('812B')).toBe(812);
  });

  it('refuses what is not a wrk value', () => {
    expect(() => parseWrkTime('3.07')).toThrow('not a wrk time');
    expect(() => parseWrkTime('fast')).toThrow('not a wrk time');
    expect(() => parseWrkBytes('1.2kB')).toThrow('not a wrk size');
  });
});

describe('parseWrkOutput', () => {
  it('reads a clean run with the latency distribution', () => {
    const r = parseWrkOutput(fixture('upstream-latency.txt'));
    expect(r).toEqual({
      url: 'http://127.0.0.1:18080/accounts',
      threads: 1,
      connections: 50,
      requests: 133_272,
      durationMs: 3010,
      bytesRead: expect.closeTo(27.58 * 1024 * 1024, 0),
      requestsPerSec: 44_342.94,
      latency: { avgMs: 1.51, stdevMs: 3.12, maxMs: 62.42 },
      percentiles: { p50Ms: 0.98, p75Ms: 1.17, p90Ms: 2.05, p99Ms: 11.86 },
      socketErrors: { connect: 0, read: 0, write: 0, timeout: 0 },
      non2xx3xx: 0,
    });
    expect(failedRequests(r)).toBe(0);
    expect(describeFailures(r)).toBe('no failures');
  });

  it('reads socket errors, non-2xx responses and second-scale percentiles', () => {
    const r = parseWrkOutput(fixture('socket-errors-latency.txt'));
    expect(r.requests).toBe(452);
    expect(r.requestsPerSec).toBe(112.78);
    expect(r.latency).toEqual({ avgMs: 194.43, stdevMs: 434.89, maxMs: 1530 });
    expect(r.percentiles).toEqual({ p50Ms: 2, p75Ms: 12.12, p90Ms: 1060, p99Ms: 1510 });
    expect(r.socketErrors).toEqual({ connect: 0, read: 83, write: 0, timeout: 0 });
    expect(r.non2xx3xx).toBe(97);
    expect(failedRequests(r)).toBe(180);
    expect(describeFailures(r)).toBe('97 non-2xx/3xx responses, 83 read errors');
  });

  it('leaves percentiles out when wrk ran without --latency', () => {
    const r = parseWrkOutput(fixture('no-latency-two-threads.txt'));
    expect(r.threads).toBe(2);
    expect(r.connections).toBe(10);
    expect(r.percentiles).toBeUndefined();
    expect(r.latency.avgMs).toBeCloseTo(0.26164, 6);
    expect(r.requestsPerSec).toBe(47_785.71);
  });

  it('throws when wrk never ran', () => {
    expect(() => parseWrkOutput(fixture('connect-refused.txt'))).toThrow(WrkParseError);
    expect(() => parseWrkOutput(fixture('connect-refused.txt'))).toThrow(/Connection refused/);
  });

  it('throws on a truncated latency distribution rather than inventing a p99', () => {
    const text = fixture('upstream-latency.txt').replace(/^\s+99%.*$/m, '');
    expect(() => parseWrkOutput(text)).toThrow('incomplete latency distribution');
  });
});
