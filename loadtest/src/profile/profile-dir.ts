import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatMs, markdownTable } from '../report/format.ts';
import { perRequestDeltas } from './compare-profiles.ts';
import { summarizeCpuProfile, type CpuProfile, type ProfileSummary } from './summarize-cpu-profile.ts';

export type { ProfileSummary } from './summarize-cpu-profile.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Every package and function of a .cpuprofile file (no limit: the comparison needs all). */
export const summarizeProfileFile = (file: string): ProfileSummary =>
  summarizeCpuProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, { repoRoot, limit: Number.POSITIVE_INFINITY });

/** A profiled contender: its summary and the requests it served while profiled. */
export interface ProfiledRun {
  label: string;
  file: string;
  summary: ProfileSummary;
  requests: number;
}

export interface ProfileComparison {
  baseline: ProfiledRun;
  system: ProfiledRun;
}

const us = (n: number) => n.toFixed(1);
const deltaTable = (c: ProfileComparison, pick: (s: ProfileSummary) => ProfileSummary['selfByPackage'], limit: number) =>
  markdownTable(
    ['', `${c.baseline.label} µs/req`, `${c.system.label} µs/req`, 'difference µs/req'],
    perRequestDeltas(pick(c.baseline.summary), c.baseline.requests, pick(c.system.summary), c.system.requests, limit).map((d) => [
      d.name,
      us(d.baselineUs),
      us(d.systemUs),
      `${d.deltaUs >= 0 ? '+' : '−'}${us(Math.abs(d.deltaUs))}`,
    ]),
  );

/**
 * Markdown: CPU per request of both contenders during the measured runs, and where the
 * system spends more, by package and by function.
 */
export const profileComparisonReport = (c: ProfileComparison): string => {
  const perRequest = (r: ProfiledRun) => (r.summary.busyMs * 1000) / r.requests;
  return [
    `Profiled during the measured runs only (in-process inspector, 250 µs sampling). ` +
      `${c.baseline.label}: ${formatMs(c.baseline.summary.busyMs)} busy for ${c.baseline.requests} requests = ${us(perRequest(c.baseline))} µs/req; ` +
      `${c.system.label}: ${formatMs(c.system.summary.busyMs)} busy for ${c.system.requests} requests = ${us(perRequest(c.system))} µs/req. ` +
      `Profiles: ${c.baseline.file}, ${c.system.file}.`,
    `Own time by package (leaf frames):\n\n${deltaTable(c, (s) => s.selfByPackage, 15)}`,
    `Time with the package on the stack (inclusive; nested packages count in each):\n\n${deltaTable(c, (s) => s.inclusiveByPackage, 15)}`,
    `Functions by own time:\n\n${deltaTable(c, (s) => s.topSelf, 20)}`,
    `Functions by inclusive time:\n\n${deltaTable(c, (s) => s.topInclusive, 25)}`,
  ].join('\n\n');
};
