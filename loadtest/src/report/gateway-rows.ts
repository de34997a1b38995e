import type { GatewayOverheadResult } from '../gateway-overhead.ts';
import { targetsFor } from './gateway-targets.ts';
import type { MeasuredRun } from '../alternate.ts';
import { kafkaDownRows } from '../kafka-down-round.ts';
import { cpuPerRequestUs, serverCpuRatios, verdict, type PairedComparison } from './compare.ts';
import { formatCount, formatCpuBreakdown, formatDeltaMs, formatMb, formatMs, formatPipelining, formatRatio, formatUs, type ReportRow } from './format.ts';
import { lightLoadRows, p50Row } from './latency-rows.ts';

const rounds = (values: readonly number[], format: (n: number) => string) => `rounds: ${values.map(format).join(', ')}`;

/** Throughput, p99 and the gateway process's CPU against the bare proxy's: the lines a gateway variant shares. */
const comparedRows = (
  scenario: string,
  c: PairedComparison,
  bare: readonly MeasuredRun[],
  gateway: readonly MeasuredRun[],
  targets: ReturnType<typeof targetsFor>,
  invalid: string,
): ReportRow[] => {
  const cpu = serverCpuRatios(bare, gateway);
  return [
    {
      scenario,
      measure: 'gateway process CPU per request (primary gauge)',
      baseline: `bare proxy ${formatUs(cpuPerRequestUs(bare, 'server'))}`,
      system: `gateway ${formatUs(cpuPerRequestUs(gateway, 'server'))}`,
      comparison: cpu.median === undefined ? '—' : `${formatRatio(cpu.median)} (${rounds(cpu.ratios, formatRatio)})`,
      target: targets.cpuRatio === undefined ? '—' : `≤ ${formatRatio(targets.cpuRatio)}`,
      verdict: targets.cpuRatio === undefined || cpu.median === undefined ? '—' : verdict(cpu.median, targets.cpuRatio, 'atMost') + invalid,
    },
    {
      scenario,
      measure: 'throughput (co-located)',
      baseline: `${formatCount(c.baseline.requestsPerSec)} req/s`,
      system: `${formatCount(c.system.requestsPerSec)} req/s`,
      comparison: `${formatRatio(c.throughputRatio)} (${rounds(c.throughputRatios, formatRatio)})`,
      target: `≥ ${formatRatio(targets.throughputRatio)}`,
      verdict: verdict(c.throughputRatio, targets.throughputRatio, 'atLeast') + invalid,
    },
    {
      scenario,
      measure: 'p99 latency',
      baseline: formatMs(c.baseline.p99Ms),
      system: formatMs(c.system.p99Ms),
      comparison: `${formatDeltaMs(c.addedP99Ms)} (${rounds(c.addedP99sMs, formatDeltaMs)})`,
      target: `≤ +${formatMs(targets.addedP99Ms)}`,
      verdict: verdict(c.addedP99Ms, targets.addedP99Ms, 'atMost') + invalid,
    },
  ];
};

/** Events per delivery the gateway's Kafka emitter made, from its stats. */
const batchNote = (stats: Record<string, number>) =>
  stats['events.batches'] ? `; ${formatCount(stats['events.perBatch'] ?? 0)} events per Kafka delivery (${formatCount(stats['events.batches'])} deliveries)` : '';

/** The variant gateway's lines: the compared ones, and its light-load latency in the same run. */
const variantRows = (
  scenario: string,
  r: GatewayOverheadResult,
  variant: NonNullable<GatewayOverheadResult['variant']>,
  targets: ReturnType<typeof targetsFor>,
  invalid: string,
): ReportRow[] => [
  ...comparedRows(scenario, variant.comparison, r.bare, variant.runs, targets, invalid).map((row, i) =>
    i === 0 ? { ...row, comparison: row.comparison + batchNote(variant.stats) } : row,
  ),
  ...lightLoadRows(scenario, variant.light, r.options.lightConnections, targets.lightAddedP99Ms),
];

/** The scenario's lines of the summary table (and its variant's, when it ran one). */
export const gatewayOverheadRows = (r: GatewayOverheadResult): ReportRow[] => {
  const c = r.comparison;
  const kafka = r.kafka ? `, Kafka emitter${r.kafka.local ? '' : ` at ${r.kafka.brokers}`}` : '';
  const scenario = `gateway overhead (${r.store} store${kafka})`;
  const targets = targetsFor(r.store, r.kafka !== undefined);
  const invalid = r.problems.length > 0 ? ' (see problems)' : '';
  return [
    ...comparedRows(scenario, c, r.bare, r.gateway, targets, invalid),
    p50Row(scenario, c),
    ...lightLoadRows(scenario, r.light, r.options.lightConnections, targets.lightAddedP99Ms),
    ...(r.kafkaDown ? kafkaDownRows(scenario, r.kafkaDown, c) : []),
    {
      scenario,
      measure: 'CPU per request, every process',
      baseline: formatCpuBreakdown(r.cpu.bare, { server: 'proxy' }),
      system: formatCpuBreakdown(r.cpu.gateway, { server: 'gateway' }),
      comparison:
        r.cpu.modelRatio === undefined
          ? '—'
          : [`${formatRatio(r.cpu.modelRatio)} if CPU-bound`, formatPipelining(r.valkeyWritesPerRequest, r.valkeyCommandsPerRead)].filter(Boolean).join('; ') +
            batchNote(r.stats),
      target: '—',
      verdict: '—',
    },
    {
      scenario,
      measure: 'peak RSS under load (VmHWM)',
      baseline: formatMb(r.memory.bare.hwmBytes),
      system: formatMb(r.memory.gateway.hwmBytes),
      comparison: `sampled VmRSS peak ${formatMb(r.memory.gateway.peakRssBytes)}`,
      target: `≤ ${formatMb(targets.peakRssBytes)}`,
      verdict: verdict(r.memory.gateway.hwmBytes, targets.peakRssBytes, 'atMost'),
    },
    ...(r.variant ? variantRows(`${scenario}, variant ${r.variant.label}`, r, r.variant, targets, invalid) : []),
  ];
};
