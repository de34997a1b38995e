import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProcStatus, readProcMemory, sampleMemory } from './proc-status.ts';

// /proc/self/status of a Node 24 process that allocated 200 MB and freed it again.
const fixture = readFileSync(new URL('./fixtures/proc-status.txt', import.meta.url), 'utf8');

describe('parseProcStatus', () => {
  it('reads the resident set and its high-water mark in bytes', () => {
    expect(parseProcStatus(fixture)).toEqual({
      rssBytes: 46_392 * 1024,
      hwmBytes: 248_980 * 1024,
      rssAnonBytes: 9_888 * 1024,
      rssFileBytes: 36_504 * 1024,
    });
  });

  it('does not confuse VmRSS with RssAnon or VmHWM with VmPeak', () => {
    const reordered = `RssAnon:\t 1 kB\nVmPeak:\t 2 kB\n${fixture}`;
    expect(parseProcStatus(reordered).rssBytes).toBe(46_392 * 1024);
    expect(parseProcStatus(reordered).hwmBytes).toBe(248_980 * 1024);
  });

  it('throws when a line is missing', () => {
    expect(() => parseProcStatus(fixture.replace(/^VmHWM:.*$/m, ''))).toThrow('no VmHWM line');
  });
});

describe('sampleMemory', () => {
  it('reports at least the current resident set of a live process', async () => {
    const now = await readProcMemory(process.pid);
    const peak = await sampleMemory(process.pid, 5).stop();
    expect(peak.samples).toBeGreaterThanOrEqual(1);
    expect(peak.peakRssBytes).toBeGreaterThan(now.rssBytes / 2);
    expect(peak.hwmBytes).toBeGreaterThanOrEqual(peak.peakRssBytes);
    expect(peak.first?.rssBytes).toBeGreaterThan(0);
    expect(peak.peakAnonBytes + peak.peakFileBytes).toBeGreaterThanOrEqual(peak.peakRssBytes * 0.9);
  });
});
