import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMs, markdownTable } from '../report/format.ts';
import { summarizeCpuProfile, type CpuProfile, type ProfileSummary, type Share } from './summarize-cpu-profile.ts';

export type { ProfileSummary } from './summarize-cpu-profile.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Summarizes the newest `.cpuprofile` that `node --cpu-prof --cpu-prof-dir=<dir>` wrote. */
export const summarizeProfileDir = (dir: string): ProfileSummary & { file: string } => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const newest = files.at(-1);
  if (!newest) throw new Error(`no .cpuprofile in ${dir}: did the profiled process exit cleanly?`);
  const file = join(dir, newest);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  return { ...summarizeCpuProfile(profile, { repoRoot, limit: 20 }), file };
};

const pct = (s: Share) => `${(s.share * 100).toFixed(1)}%`;
const table = (title: string, rows: Share[]) =>
  `${title}\n\n${markdownTable(['', 'ms', 'share of busy time'], rows.map((s) => [s.name, s.ms.toFixed(0), pct(s)]))}`;

/** The profile as markdown: where the busy (non-idle) CPU time of the process went. */
export const profileReport = (s: ProfileSummary & { file?: string }): string =>
  [
    `CPU profile${s.file ? ` (${s.file})` : ''}: ${formatMs(s.totalMs)} sampled, ${formatMs(s.busyMs)} busy, ${formatMs(s.idleMs)} idle.`,
    table('Own time by package (leaf frames):', s.selfByPackage),
    table('Time with the package on the stack (inclusive):', s.inclusiveByPackage),
    table('Functions by own time:', s.topSelf),
    table('Functions by inclusive time:', s.topInclusive),
  ].join('\n\n');
