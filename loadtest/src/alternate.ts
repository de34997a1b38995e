import { join } from 'node:path';
import type { ServerChild } from './process/child.ts';
import { readSyscalls } from './process/proc-io.ts';
import { measureCpu, REAPED_CHILDREN_PID } from './process/proc-stat.ts';
import { summarizeProfileFile, type ProfileComparison } from './profile/profile-dir.ts';
import type { CpuRun } from './report/compare.ts';
import { formatCount, formatMs } from './report/format.ts';
import type { WrkRun } from './wrk/run-wrk.ts';

export type MeasuredRun = WrkRun &
  CpuRun & {
    /** System calls of the server under load during the run, per completed request. */
    serverSyscallsPerRequest: { reads: number; writes: number } | undefined;
  };

/** One light-load run of each contender: the baseline, the system and each of the others. */
export interface LightRuns {
  baseline: MeasuredRun;
  system: MeasuredRun;
  others: MeasuredRun[];
}

export interface Contender {
  label: string;
  /** The server under load. */
  child: ServerChild;
  /** Processes whose CPU time is measured during this contender's runs, by role (`server`, `upstream`, `valkey`). */
  pids: Record<string, number>;
  /** One wrk run against the server; `connections` overrides the scenario's. */
  run: (durationS: number, connections?: number) => Promise<WrkRun>;
}

/** The processes that serve the port: the server, and its workers (`worker1` …) when it runs several. */
const isServerRole = (role: string) => role === 'server' || /^worker\d+$/.test(role);

/** wrk once, with the CPU time of the contender's processes and of wrk itself (role `wrk`) during the run. */
export const measured = async (c: Contender, durationS: number, connections?: number): Promise<MeasuredRun> => {
  const stop = await measureCpu({ ...c.pids, wrk: REAPED_CHILDREN_PID });
  const servers = Object.entries(c.pids)
    .filter(([role]) => isServerRole(role))
    .map(([, pid]) => pid);
  const syscalls = async () => {
    const all = await Promise.all(servers.map(readSyscalls));
    return all.reduce((sum, io) => ({ reads: sum.reads + io.reads, writes: sum.writes + io.writes }), { reads: 0, writes: 0 });
  };
  const ioBefore = servers.length === 0 ? undefined : await syscalls();
  const run = await c.run(durationS, connections);
  const ioAfter = servers.length === 0 ? undefined : await syscalls();
  const per = (n: number) => n / Math.max(run.requests, 1);
  return {
    ...run,
    cpuMs: await stop(),
    serverSyscallsPerRequest:
      ioBefore && ioAfter ? { reads: per(ioAfter.reads - ioBefore.reads), writes: per(ioAfter.writes - ioBefore.writes) } : undefined,
  };
};

/**
 * Baseline, system, baseline, system … for `rounds` rounds: the two always run next to
 * each other, so each round's ratio sees the same machine.
 */
export const alternate = async (
  {
    baseline,
    system,
    rounds,
    durationS,
    unit = 'req/s',
    profileDir,
    lightConnections = 0,
    others = [],
  }: {
    baseline: Contender;
    system: Contender;
    /** More systems, each run after the system in every round (a variant measured beside it). */
    others?: readonly Contender[];
    rounds: number;
    durationS: number;
    unit?: string;
    profileDir?: string | undefined;
    /** After the rounds, one more baseline/system pair with this few connections (0: none). */
    lightConnections?: number;
  },
  log: (line: string) => void,
): Promise<{
  baseline: MeasuredRun[];
  system: MeasuredRun[];
  /** The runs of each of `others`, in its order. */
  others: MeasuredRun[][];
  profile: ProfileComparison | undefined;
  /** The light-load runs: latency with (almost) no queueing in front of the server; `others` in their order. */
  light: LightRuns | undefined;
}> => {
  const runs = { baseline: [] as MeasuredRun[], system: [] as MeasuredRun[] };
  const otherRuns = others.map((): MeasuredRun[] => []);
  // Both contenders are profiled over the same window, so the profiler's cost is shared alike.
  if (profileDir) await Promise.all([baseline.child.profileStart(), system.child.profileStart()]);
  const width = Math.max(baseline.label.length, system.label.length, ...others.map((o) => o.label.length));
  const contenders = [
    { c: baseline, into: runs.baseline },
    { c: system, into: runs.system },
    ...others.map((c, i) => ({ c, into: otherRuns[i] ?? [] })),
  ];
  for (let round = 1; round <= rounds; round++) {
    for (const { c, into } of contenders) {
      const r = await measured(c, durationS);
      into.push(r);
      const serverMs = Object.entries(r.cpuMs).reduce((ms, [role, v]) => (isServerRole(role) ? ms + v : ms), 0);
      const cpu = r.cpuMs.server === undefined ? '' : `, ${((serverMs * 1000) / Math.max(r.requests, 1)).toFixed(0)} µs CPU/request`;
      const io = r.serverSyscallsPerRequest;
      const sys = io ? `, ${io.reads.toFixed(2)} reads + ${io.writes.toFixed(2)} writes/request` : '';
      log(`round ${round}/${rounds} ${c.label.padEnd(width)}: ${formatCount(r.requestsPerSec)} ${unit}, p99 ${formatMs(r.percentiles?.p99Ms ?? Number.NaN)}${cpu}${sys}`);
    }
  }
  let profile: ProfileComparison | undefined;
  if (profileDir) {
    const profiled = async (c: Contender, measuredRuns: MeasuredRun[]) => {
      const file = join(profileDir, `${c.child.name}.cpuprofile`);
      await c.child.profileStop(file);
      return { label: c.label, file, summary: summarizeProfileFile(file), requests: measuredRuns.reduce((n, r) => n + r.requests, 0) };
    };
    profile = { baseline: await profiled(baseline, runs.baseline), system: await profiled(system, runs.system) };
  }
  let light: LightRuns | undefined;
  if (lightConnections > 0) {
    // The variants run at light load too, so a latency change can be compared in one run.
    const lightRuns: MeasuredRun[] = [];
    for (const { c } of contenders) {
      const r = await measured(c, durationS, lightConnections);
      lightRuns.push(r);
      log(`light load (${lightConnections} connections) ${c.label.padEnd(width)}: ${formatCount(r.requestsPerSec)} ${unit}, p50 ${formatMs(r.percentiles?.p50Ms ?? Number.NaN)}, p99 ${formatMs(r.percentiles?.p99Ms ?? Number.NaN)}`);
    }
    const [b, s, ...o] = lightRuns;
    if (b && s) light = { baseline: b, system: s, others: o };
  }
  return { ...runs, others: otherRuns, profile, light };
};
