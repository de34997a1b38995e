import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { measureCpu, parseProcStat, REAPED_CHILDREN_PID } from './proc-stat.ts';

// /proc/self/stat of a Node 24 process after a busy loop: utime 282 ticks, stime 2 ticks.
const fixture = readFileSync(new URL('./fixtures/proc-stat-node.txt', import.meta.url), 'utf8');

describe('parseProcStat', () => {
  it('reads user and system time in milliseconds', () => {
    expect(parseProcStat(fixture, 100)).toEqual({ userMs: 2820, systemMs: 20, reapedChildrenMs: 0 });
    expect(parseProcStat(fixture, 1000)).toEqual({ userMs: 282, systemMs: 2, reapedChildrenMs: 0 });
  });

  it('counts fields after the command name, whatever it contains', () => {
    const odd = fixture.replace('(MainThread)', '(a) 1 2 (b c)');
    expect(parseProcStat(odd, 100)).toEqual({ userMs: 2820, systemMs: 20, reapedChildrenMs: 0 });
  });

  it('reads the CPU of reaped children', () => {
    // fields 14-17 of the fixture are "282 2 0 0"
    const withChildren = fixture.replace(' 282 2 0 0 ', ' 282 2 150 50 ');
    expect(parseProcStat(withChildren, 100).reapedChildrenMs).toBe(2000);
  });

  it('refuses text that is not a stat line', () => {
    expect(() => parseProcStat('VmRSS: 1 kB', 100)).toThrow('not a /proc/<pid>/stat line');
    expect(() => parseProcStat('1 (x) R 1 2', 100)).toThrow('no utime/stime/cutime/cstime');
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

  it('sees the CPU of a child that ran and exited in between (REAPED_CHILDREN_PID)', async () => {
    const stop = await measureCpu({ children: REAPED_CHILDREN_PID });
    spawnSync(process.execPath, ['-e', 'const s = process.cpuUsage(); while (process.cpuUsage(s).user < 200000);']);
    expect((await stop()).children).toBeGreaterThanOrEqual(150);
  });
});
