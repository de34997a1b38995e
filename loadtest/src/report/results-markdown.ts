import type { MachineNotes } from '../machine.ts';
import { markdownTable, reportTable, type ReportRow } from './format.ts';

/** One wrk run in the per-round table. */
export interface RoundRow {
  scenario: string;
  contender: string;
  round: number;
  requestsPerSec: string;
  p50: string;
  p99: string;
  requests: string;
  cpuPerRequest: string;
  failures: string;
}

export interface ResultsDocument {
  machine: MachineNotes;
  /** How wrk was run, e.g. `wrk -t1 -c50 -d15s --latency`, rounds, warm-up. */
  loadParameters: string[];
  summary: ReportRow[];
  rounds: RoundRow[];
  /** Accounting lines and problems; a non-empty problem list makes the figures suspect. */
  checks: string[];
  problems: string[];
  /** Extra markdown sections (CPU profiles). */
  sections: { title: string; body: string }[];
  elapsedS: number;
}

/** loadtest/RESULTS.md: the latest figures with what they were measured on. */
export const renderResultsMarkdown = (d: ResultsDocument): string => {
  const m = d.machine;
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (`node loadtest/src/run-all.ts`); every run replaces this file.',
    'Each scenario runs its baseline and the system in the same run, alternating, and compares',
    'neighbouring runs. wrk, the servers, the upstream and Valkey share the machine below, so',
    'absolute figures move with whatever else it runs; ratios and CPU per request move much less.',
    '',
    'Run: `npm run bench` (all), `node loadtest/src/gateway-overhead.ts [--store memory]`,',
    '`node loadtest/src/sidecar-authorize.ts`; options `--duration --warmup --rounds --connections',
    '--threads --max-requests --store --valkey-url --profile` or BENCH_* variables (see loadtest/src/options.ts).',
    '',
    '## Machine',
    '',
    `- date: ${m.date}`,
    `- nproc: ${m.nproc} (${m.cpuModel}), memory ${m.memoryGiB} GiB, load average at start ${m.loadAverage.toFixed(2)}`,
    `- node ${m.node}, valkey ${m.valkey}, wrk ${m.wrk}`,
    `- code measured: ${m.commit}`,
    ...d.loadParameters.map((p) => `- ${p}`),
    `- wall time of the whole run: ${d.elapsedS.toFixed(0)} s`,
    '',
    '## Summary',
    '',
    reportTable(d.summary),
    '',
    '## Every measured run',
    '',
    markdownTable(
      ['scenario', 'contender', 'round', 'req/s', 'p50', 'p99', 'requests', 'CPU/request (server)', 'failures'],
      d.rounds.map((r) => [r.scenario, r.contender, String(r.round), r.requestsPerSec, r.p50, r.p99, r.requests, r.cpuPerRequest, r.failures]),
    ),
    '',
    '## Checks',
    '',
    ...d.checks.map((c) => `- ${c}`),
    '',
    d.problems.length === 0 ? 'No problems: every request succeeded, no run hit its request bound, every call was debited once.' : '**Problems (the figures above are suspect):**',
    ...d.problems.map((p) => `- ${p}`),
  ];
  for (const s of d.sections) lines.push('', `## ${s.title}`, '', s.body);
  return `${lines.join('\n')}\n`;
};
