import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { measureCpu, parseProcStat } from './proc-stat.ts';

// /proc/self/stat of a Node 24 process after a busy loop: utime 282 ticks, stime 2 ticks.
const fixture = readFileSync(new URL('./fixtures/proc-stat-node.txt', import.meta.url), 'utf8');

describe('parseProcStat', () => {
  it('reads user and system time in milliseconds', () => {
    expect(parseProcStat(fixture, 100)).toEqual({ userMs: 2820, systemMs: 20 });
    expect(parseProcStat(fixture, 1000)).toEqual({ userMs: 282, systemMs: 2 });
  });

  it('counts fields after the command name, whatever it contains', () => {
    const odd = fixture.replace('(MainThread)', '(a) 1 2 (b c)');
    expect(parseProcStat(odd, 100)).toEqual({ userMs: 2820, systemMs: 20 });
  });

  it('refuses text that is not a stat line', () => {
    expect(() => parseProcStat('VmRSS: 1 kB', 100)).toThrow('not a /proc/<pid>/stat line');
    expect(() => parseProcStat('1 (x) R 1 2', 100)).toThrow('no utime/stime');
  });
});

describe('measureCpu', () => {
  it('sees the CPU this process burns', async () => {
    const stop = await measureCpu({ self: process.pid });
    // Burn 200 ms of CPU (not of wall time: the machine may be shared).
    const start = process.cpuUsage();
    while (process.cpuUsage(start).user + process.cpuUsage(start).system < 200_000) {
      // busy on purpose
    }
    const used = await stop();
    // /proc counts in 10 ms ticks.
    expect(used.self).toBeGreaterThanOrEqual(180);
    expect(used.self).toBeLessThan(5_000);
  });
});
