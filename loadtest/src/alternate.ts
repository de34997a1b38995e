import { Redis } from 'iovalkey';
import { measureCpu } from './process/proc-stat.ts';
import type { CpuRun } from './report/compare.ts';
import { formatCount, formatMs } from './report/format.ts';
import type { WrkRun } from './wrk/run-wrk.ts';

export type MeasuredRun = WrkRun & CpuRun;

export interface Contender {
  label: string;
  /** Processes whose CPU time is measured during this contender's runs, by role (`server`, `upstream`, `valkey`). */
  pids: Record<string, number>;
  run: (durationS: number) => Promise<WrkRun>;
}

/** wrk once, with the CPU time of the contender's processes during the run. */
export const measured = async (c: Contender, durationS: number): Promise<MeasuredRun> => {
  const stop = await measureCpu(c.pids);
  const run = await c.run(durationS);
  return { ...run, cpuMs: await stop() };
};

/**
 * Baseline, system, baseline, system … for `rounds` rounds: the two always run next to
 * each other, so each round's ratio sees the same machine.
 */
export const alternate = async (
  { baseline, system, rounds, durationS, unit = 'req/s' }: { baseline: Contender; system: Contender; rounds: number; durationS: number; unit?: string },
  log: (line: string) => void,
): Promise<{ baseline: MeasuredRun[]; system: MeasuredRun[] }> => {
  const runs = { baseline: [] as MeasuredRun[], system: [] as MeasuredRun[] };
  const width = Math.max(baseline.label.length, system.label.length);
  for (let round = 1; round <= rounds; round++) {
    for (const [key, c] of [['baseline', baseline], ['system', system]] as const) {
      const r = await measured(c, durationS);
      runs[key].push(r);
      const cpu = r.cpuMs.server === undefined ? '' : `, ${((r.cpuMs.server * 1000) / Math.max(r.requests, 1)).toFixed(0)} µs CPU/request`;
      log(`round ${round}/${rounds} ${c.label.padEnd(width)}: ${formatCount(r.requestsPerSec)} ${unit}, p99 ${formatMs(r.percentiles?.p99Ms ?? Number.NaN)}${cpu}`);
    }
  }
  return runs;
};

/** The pid of the Valkey server behind `url` (INFO server), to measure its CPU time. */
export const valkeyPid = async (url: string): Promise<number> => {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    const info = await client.info('server');
    const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`Valkey at ${url} reports no process_id`);
    return pid;
  } finally {
    client.disconnect();
  }
};
