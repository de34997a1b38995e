import type { PairedComparison } from './compare.ts';
import { formatDeltaMs, formatMs, type ReportRow } from './format.ts';
import { verdict } from './compare.ts';

/** The p50 line of a paired scenario: context, no target. */
export const p50Row = (scenario: string, c: PairedComparison): ReportRow => ({
  scenario,
  measure: 'p50 latency',
  baseline: formatMs(c.baseline.p50Ms),
  system: formatMs(c.system.p50Ms),
  comparison: formatDeltaMs(c.addedP50Ms),
  target: '—',
  verdict: '—',
});

/** The light-load line, when the scenario ran one: judged against `addedP99TargetMs` if it has one. */
export const lightLoadRows = (scenario: string, light: PairedComparison | undefined, connections: number, addedP99TargetMs?: number): ReportRow[] =>
  light
    ? [
        {
          scenario,
          measure: `latency at light load (${connections} connections)`,
          baseline: `p50 ${formatMs(light.baseline.p50Ms)}, p99 ${formatMs(light.baseline.p99Ms)}`,
          system: `p50 ${formatMs(light.system.p50Ms)}, p99 ${formatMs(light.system.p99Ms)}`,
          comparison: `p50 ${formatDeltaMs(light.addedP50Ms)}, p99 ${formatDeltaMs(light.addedP99Ms)}`,
          target: addedP99TargetMs === undefined ? '—' : `p99 ≤ +${formatMs(addedP99TargetMs)}`,
          verdict: addedP99TargetMs === undefined ? '—' : verdict(light.addedP99Ms, addedP99TargetMs, 'atMost'),
        },
      ]
    : [];
