import { join } from 'node:path';
import { benchOptionsOrExit, type BenchOptions } from './options.ts';
import { scratchDir, serverStarter, type ServerChild } from './process/child.ts';
import type { Contender, MeasuredRun } from './alternate.ts';
import { comparePaired, cpuPerRequestUs, extraWritesPerRequest, type PairedComparison } from './report/compare.ts';
import { formatCount, formatDeltaMs, formatMs, formatRatio, formatUs, reportTable, type ReportRow } from './report/format.ts';
import { runPairedScenario } from './paired-scenario.ts';
import { runWrk } from './wrk/run-wrk.ts';

/**
 * What the durable event log costs the gateway per call: the same gateway (memory store, so
 * that nothing else moves), once with the in-process bus that only counts its events, once
 * with the local event log of `npm start` (JSON text of the event, one synchronous append,
 * an fsync every EVENT_LOG_FSYNC_MS). The log is not drained: its sink's work is the
 * `npm start` scenario's. Alternating rounds, as every paired scenario.
 */
const SUBJECT = 'tpp-loadtest';
const PATH = '/open-banking/v3.1/aisp/accounts';
const PROXY_NODE_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=50'];

export interface EventLogCostResult {
  options: BenchOptions;
  bus: MeasuredRun[];
  log: MeasuredRun[];
  comparison: PairedComparison;
  /** Gateway CPU µs per request (median over rounds). */
  cpuUs: { bus: number | undefined; log: number | undefined };
  extraWritesPerRequest: number | undefined;
  /** Events each gateway counted against the responses it gave. */
  accounting: { bus: Record<string, number>; log: Record<string, number> };
  problems: string[];
}

export const runEventLogCost = async (options: BenchOptions, log: (line: string) => void = console.log): Promise<EventLogCostResult> => {
  const started: ServerChild[] = [];
  try {
    const start = serverStarter(started, log);
    const upstream = await start('upstream', 'upstream.ts');
    const gateway = (emitter: string) =>
      start(`gateway-${emitter || 'bus'}`, 'gateway.ts', {
        env: { UPSTREAM_URL: upstream.url, VALKEY_URL: '', KAFKA_BROKERS: '', BENCH_EMITTER: emitter, BENCH_SUBJECT: SUBJECT, BENCH_GRANT: String(1e12) },
        execArgv: PROXY_NODE_FLAGS,
      });
    const [bus, logged] = [await gateway(''), await gateway('log')];
    const wrk = (target: ServerChild) => (durationS: number, connections = options.connections) =>
      runWrk({ url: `${target.url}${PATH}`, durationS, connections, threads: options.threads, maxRequests: options.maxRequestsPerRun, headers: { 'x-tpp-id': SUBJECT } });
    const contender = (label: string, child: ServerChild): Contender => ({ label, child, pids: { server: child.pid, upstream: upstream.pid }, run: wrk(child) });
    const paired = await runPairedScenario(
      {
        baseline: contender('gateway, in-process bus', bus),
        system: contender('gateway, event log', logged),
        options: { ...options, lightConnections: 0 },
        profileDir: join(scratchDir, 'profile-event-log'),
        valkeyUrl: undefined,
      },
      log,
    );
    const accounting = { bus: await bus.stats(), log: await logged.stats() };
    return {
      options,
      bus: paired.baseline,
      log: paired.system,
      comparison: comparePaired(paired.baseline, paired.system),
      cpuUs: { bus: cpuPerRequestUs(paired.baseline, 'server'), log: cpuPerRequestUs(paired.system, 'server') },
      extraWritesPerRequest: extraWritesPerRequest(paired.baseline, paired.system),
      accounting,
      problems: paired.problems,
    };
  } finally {
    for (const child of started.reverse()) await child.stop().catch(() => {});
  }
};

export const eventLogCostRows = (r: EventLogCostResult): ReportRow[] => {
  const scenario = 'event log cost (gateway, memory store)';
  const c = r.comparison;
  const added = r.cpuUs.log !== undefined && r.cpuUs.bus !== undefined ? r.cpuUs.log - r.cpuUs.bus : undefined;
  return [
    {
      scenario,
      measure: 'throughput',
      baseline: `${formatCount(c.baseline.requestsPerSec)} req/s (in-process bus)`,
      system: `${formatCount(c.system.requestsPerSec)} req/s (event log)`,
      comparison: `${formatRatio(c.throughputRatio)} (rounds: ${c.throughputRatios.map(formatRatio).join(', ')})`,
      target: '—',
      verdict: '—',
    },
    {
      scenario,
      measure: 'p99 latency',
      baseline: formatMs(c.baseline.p99Ms),
      system: formatMs(c.system.p99Ms),
      comparison: formatDeltaMs(c.addedP99Ms),
      target: '—',
      verdict: '—',
    },
    {
      scenario,
      measure: 'gateway CPU per request',
      baseline: formatUs(r.cpuUs.bus),
      system: formatUs(r.cpuUs.log),
      comparison: `${added === undefined ? '—' : `${added >= 0 ? '+' : '−'}${formatUs(Math.abs(added))}`} per call; ${r.extraWritesPerRequest?.toFixed(2) ?? '—'} extra writes per request`,
      target: '—',
      verdict: '—',
    },
  ];
};

if (import.meta.main) {
  const options = benchOptionsOrExit(`node loadtest/src/event-log-cost.ts [options]`);
  const result = await runEventLogCost(options);
  console.log(`\n${reportTable(eventLogCostRows(result))}`);
  console.log(`\naccounting: ${JSON.stringify(result.accounting)}`);
  for (const p of result.problems) console.log(`PROBLEM: ${p}`);
}
