import type { Share } from './summarize-cpu-profile.ts';

/** CPU microseconds per request of one entry (package or function) in two profiled processes. */
export interface PerRequestDelta {
  name: string;
  baselineUs: number;
  systemUs: number;
  /** system − baseline: what the system spends on this per request beyond the baseline. */
  deltaUs: number;
}

/**
 * Puts two profiles on a per-request footing (each process served a different number of
 * requests) and ranks what the system spends more on. Entries missing on one side count 0.
 */
export const perRequestDeltas = (
  baseline: readonly Share[],
  baselineRequests: number,
  system: readonly Share[],
  systemRequests: number,
  limit = 15,
): PerRequestDelta[] => {
  if (baselineRequests <= 0 || systemRequests <= 0) throw new Error('per-request comparison needs requests on both sides');
  const base = new Map(baseline.map((s) => [s.name, (s.ms * 1000) / baselineRequests]));
  const sys = new Map(system.map((s) => [s.name, (s.ms * 1000) / systemRequests]));
  return [...new Set([...base.keys(), ...sys.keys()])]
    .map((name) => {
      const baselineUs = base.get(name) ?? 0;
      const systemUs = sys.get(name) ?? 0;
      return { name, baselineUs, systemUs, deltaUs: systemUs - baselineUs };
    })
    .sort((a, b) => b.deltaUs - a.deltaUs || a.name.localeCompare(b.name))
    .slice(0, limit);
};
