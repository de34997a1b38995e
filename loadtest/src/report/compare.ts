import type { WrkResult } from '../wrk/parse-wrk-output.ts';

/** Middle value (mean of the two middle ones for an even count). */
export const median = (values: readonly number[]): number => {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? Number.NaN) + hi) / 2;
};

export interface RunSummary {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests over every round. */
  requests: number;
}

export interface PairedComparison {
  baseline: RunSummary;
  system: RunSummary;
  /** system ÷ baseline throughput of each round (a round = one baseline run next to one system run). */
  throughputRatios: number[];
  /** Median of the rounds' throughput ratios. */
  throughputRatio: number;
  /** system − baseline p99 of each round, ms. */
  addedP99sMs: number[];
  addedP99Ms: number;
  addedP50Ms: number;
}

const p = (r: WrkResult, key: 'p50Ms' | 'p99Ms'): number => {
  if (!r.percentiles) throw new Error(`wrk run against ${r.url} has no latency distribution (run wrk with --latency)`);
  return r.percentiles[key];
};

const summarize = (runs: readonly WrkResult[]): RunSummary => ({
  requestsPerSec: median(runs.map((r) => r.requestsPerSec)),
  p50Ms: median(runs.map((r) => p(r, 'p50Ms'))),
  p99Ms: median(runs.map((r) => p(r, 'p99Ms'))),
  requests: runs.reduce((sum, r) => sum + r.requests, 0),
});

/**
 * Compares runs taken in alternation (A B A B …): each round's ratio is taken between
 * neighbours, so drift of the machine over the run cancels out, and the median of the
 * rounds keeps one disturbed round from deciding the result.
 */
export const comparePaired = (baseline: readonly WrkResult[], system: readonly WrkResult[]): PairedComparison => {
  if (baseline.length === 0 || baseline.length !== system.length) {
    throw new Error(`paired comparison needs as many system runs as baseline runs (got ${baseline.length} and ${system.length})`);
  }
  const rounds = baseline.map((b, i) => ({ b, s: system[i] ?? b }));
  const throughputRatios = rounds.map(({ b, s }) => s.requestsPerSec / b.requestsPerSec);
  const addedP99sMs = rounds.map(({ b, s }) => p(s, 'p99Ms') - p(b, 'p99Ms'));
  return {
    baseline: summarize(baseline),
    system: summarize(system),
    throughputRatios,
    throughputRatio: median(throughputRatios),
    addedP99sMs,
    addedP99Ms: median(addedP99sMs),
    addedP50Ms: median(rounds.map(({ b, s }) => p(s, 'p50Ms') - p(b, 'p50Ms'))),
  };
};

export type Verdict = 'pass' | 'MISS';

/** `atLeast`: the value must reach the target; `atMost`: it must not exceed it. */
export const verdict = (value: number, target: number, direction: 'atLeast' | 'atMost'): Verdict =>
  (direction === 'atLeast' ? value >= target : value <= target) ? 'pass' : 'MISS';

/** A wrk run with the CPU time each process of the scenario used during it (ms, by role). */
export interface CpuRun {
  requests: number;
  cpuMs: Record<string, number>;
}

/** Median CPU microseconds per completed request that `role` spent over the runs; undefined if it was not measured. */
export const cpuPerRequestUs = (runs: readonly CpuRun[], role: string): number | undefined => {
  const values = runs.flatMap((r) => {
    const ms = r.cpuMs[role];
    return ms === undefined || r.requests === 0 ? [] : [(ms * 1000) / r.requests];
  });
  return values.length > 0 ? median(values) : undefined;
};

/**
 * The throughput ratio a CPU-bound machine would show: per round, the CPU all processes
 * (load generator, proxy, upstream, Valkey) spend per request in the baseline run divided
 * by the same sum in the system run; the median of the rounds. Other load on a shared
 * machine moves throughput a lot and this little, so it backs up the measured ratio.
 */
export const cpuModelRatio = (baseline: readonly CpuRun[], system: readonly CpuRun[]): number | undefined => {
  const perRequest = (r: CpuRun) => Object.values(r.cpuMs).reduce((sum, ms) => sum + ms, 0) / Math.max(r.requests, 1);
  const ratios = baseline.flatMap((b, i) => {
    const s = system[i];
    return s && perRequest(s) > 0 ? [perRequest(b) / perRequest(s)] : [];
  });
  return ratios.length > 0 ? median(ratios) : undefined;
};

/** Median CPU µs per request of every role measured in the runs. */
export const cpuBreakdownUs = (runs: readonly CpuRun[]): Record<string, number> => {
  const roles = [...new Set(runs.flatMap((r) => Object.keys(r.cpuMs)))];
  return Object.fromEntries(roles.flatMap((role) => {
    const us = cpuPerRequestUs(runs, role);
    return us === undefined ? [] : [[role, us] as const];
  }));
};

/** System calls per request of the server under load, as measured from /proc/<pid>/io. */
export interface SyscallRun {
  serverSyscallsPerRequest: { reads: number; writes: number } | undefined;
}

/**
 * Write system calls per request the system makes beyond the baseline (median of each
 * side). In the scenarios the only extra socket is Valkey's, so the inverse is how many
 * debits one write to Valkey carried: the depth auto-pipelining reached on the client.
 */
export const extraWritesPerRequest = (baseline: readonly SyscallRun[], system: readonly SyscallRun[]): number | undefined => {
  const writes = (runs: readonly SyscallRun[]) => runs.flatMap((r) => (r.serverSyscallsPerRequest ? [r.serverSyscallsPerRequest.writes] : []));
  const b = writes(baseline);
  const s = writes(system);
  return b.length > 0 && s.length > 0 ? median(s) - median(b) : undefined;
};

/**
 * The primary gauge: per round, the server process's CPU per request in the system run
 * divided by the baseline's in the same round; the rounds' ratios and their median. It does
 * not depend on where the other processes run, and moves less with other load than throughput.
 */
export const serverCpuRatios = (baseline: readonly CpuRun[], system: readonly CpuRun[]): { ratios: number[]; median: number | undefined } => {
  const perRequest = (r: CpuRun | undefined) => (r?.cpuMs.server === undefined || r.requests === 0 ? undefined : r.cpuMs.server / r.requests);
  const ratios = baseline.flatMap((b, i) => {
    const bs = perRequest(b);
    const ss = perRequest(system[i]);
    return bs && ss ? [ss / bs] : [];
  });
  return { ratios, median: ratios.length > 0 ? median(ratios) : undefined };
};
