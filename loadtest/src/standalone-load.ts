import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@tollgate/testkit/free-port';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import type { Contender, MeasuredRun } from './alternate.ts';
import { benchOptionsOrExit, type BenchOptions } from './options.ts';
import { runPairedScenario } from './paired-scenario.ts';
import { scratchDir, serverStarter, type ServerChild } from './process/child.ts';
import { comparePaired, cpuPerRequestUs, type PairedComparison } from './report/compare.ts';
import { formatCount, formatMs, formatRatio, formatUs, reportTable, type ReportRow } from './report/format.ts';
import { runPaced, type PacedRun } from './standalone/paced-load.ts';
import { openBenchValkey, type BenchValkey } from './valkey/bench-valkey.ts';
import { runWrk } from './wrk/run-wrk.ts';

/**
 * `npm start` (one process: memory store, local event log, embedded sink and ClickHouse)
 * under gateway load, in two parts:
 * 1. Throughput with wrk against the split deployment's gateway (Valkey store, Kafka emitter,
 *    its own process) on the same machine, in alternating rounds.
 * 2. At fixed rates, the sink's backlog (events in the log not yet stored) over each run and
 *    the time it takes to return to zero once the load stops. Each rate runs first against the
 *    bare upstream (what the paced client itself reaches on this machine, in this run), then
 *    against npm start. A rate is sustained when npm start's 2xx answers keep up with it (97% of
 *    the rate, or of the client's ceiling when the client could not reach the rate) and the
 *    backlog is back to zero within 5 s.
 */
export const DRAIN_TARGET_MS = 5_000;
export const DEFAULT_RATES = [1_000, 2_000, 3_000, 4_000, 6_000, 8_000];
const SUBJECT = 'tpp-loadtest';
const PATH = '/accounts';
const TOKEN = 'bench-token';

export interface RateRun extends PacedRun {
  /** The same paced client against the bare upstream, just before: what the client itself reached. */
  clientCeiling: number;
  maxBacklog: number;
  /** Backlog when the load stopped. */
  endBacklog: number;
  /** From the end of the load until the backlog was zero (undefined: not within 60 s). */
  drainMs: number | undefined;
  sustained: boolean;
}

export interface StandaloneLoadResult {
  options: BenchOptions;
  split: MeasuredRun[];
  standalone: MeasuredRun[];
  comparison: PairedComparison;
  cpuUs: { split: number | undefined; standalone: number | undefined };
  /** After the saturating rounds: the backlog left, and how long it took to store it. */
  afterRounds: { backlog: number; drainMs: number | undefined };
  rates: RateRun[];
  problems: string[];
}

const backlogOf = async (child: ServerChild) => (await child.stats()).backlog ?? 0;

/** Polls the backlog until it is zero; the time it took, or undefined past `limitMs`. */
const drainTime = async (child: ServerChild, limitMs = 60_000): Promise<number | undefined> => {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if ((await backlogOf(child)) === 0) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
};

const topUp = async (sidecarUrl: string, key: string) => {
  const res = await fetch(`${sidecarUrl}/admin/v1/subjects/${SUBJECT}/credits`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ amount: 1_000_000_000, reason: 'benchmark' }),
  });
  if (res.status !== 201) throw new Error(`top-up of npm start answered ${res.status}: ${await res.text()}`);
};

export const runStandaloneLoad = async (options: BenchOptions, rates = DEFAULT_RATES, log: (line: string) => void = console.log): Promise<StandaloneLoadResult> => {
  const started: ServerChild[] = [];
  let valkey: BenchValkey | undefined;
  let kafka: KafkaBroker | undefined;
  try {
    valkey = await openBenchValkey(options.valkeyUrl);
    kafka = await startKafka({ numPartitions: 6 });
    const start = serverStarter(started, log);
    const upstream = await start('upstream', 'upstream.ts');
    const split = await start('gateway-split', 'gateway.ts', {
      env: { UPSTREAM_URL: upstream.url, VALKEY_URL: valkey.url, KAFKA_BROKERS: kafka.brokers, BENCH_EMITTER: '', BENCH_SUBJECT: SUBJECT, BENCH_GRANT: String(1e12) },
    });
    const dir = mkdtempSync(join(scratchDir, 'bench-npm-start-'));
    const sidecarPort = await freePort();
    const standalone = await start('npm-start', 'standalone.ts', {
      env: {
        PORT: String(await freePort()),
        SIDECAR_PORT: String(sidecarPort),
        SAMPLE_UPSTREAM_PORT: '0',
        UPSTREAM_URL: upstream.url,
        CLICKHOUSE_DATA_DIR: join(dir, 'chdb'),
        EVENT_LOG_DIR: join(dir, 'event-log'),
        ADMIN_TOKENS: TOKEN,
        LOG_LEVEL: 'warn',
        VALKEY_URL: '',
        KAFKA_BROKERS: '',
        CLICKHOUSE_URL: '',
        BENCH_EMITTER: '',
      },
      timeoutMs: 120_000,
    });
    const sidecarUrl = `http://127.0.0.1:${sidecarPort}`;
    await topUp(sidecarUrl, 'bench-1');
    const probe = await fetch(`${standalone.url}${PATH}`, { headers: { 'x-tpp-id': SUBJECT } });
    if (probe.status !== 200) throw new Error(`npm start answered ${probe.status} to a funded call: ${await probe.text()}`);

    // 1. Saturating rounds against the split gateway.
    const wrk = (target: ServerChild) => (durationS: number, connections = options.connections) =>
      runWrk({ url: `${target.url}${PATH}`, durationS, connections, threads: options.threads, maxRequests: options.maxRequestsPerRun, headers: { 'x-tpp-id': SUBJECT } });
    const baseline: Contender = {
      label: 'split gateway (Valkey, Kafka)',
      child: split,
      pids: { server: split.pid, upstream: upstream.pid, ...(valkey.pid ? { valkey: valkey.pid } : {}), ...(kafka.pid() ? { kafka: kafka.pid() ?? -1 } : {}) },
      run: wrk(split),
    };
    const system: Contender = { label: 'npm start', child: standalone, pids: { server: standalone.pid, upstream: upstream.pid }, run: wrk(standalone) };
    const paired = await runPairedScenario(
      { baseline, system, options: { ...options, lightConnections: 0 }, profileDir: join(scratchDir, 'profile-npm-start'), valkeyUrl: valkey.url },
      log,
    );
    const afterRounds = { backlog: await backlogOf(standalone), drainMs: await drainTime(standalone) };
    log(`after the rounds: backlog ${formatCount(afterRounds.backlog)}, stored in ${afterRounds.drainMs === undefined ? 'more than 60 s' : formatMs(afterRounds.drainMs)}`);

    // 2. Fixed rates: the backlog over each run, and its drain once the load stops.
    const rateRuns: RateRun[] = [];
    for (const [i, rate] of rates.entries()) {
      await topUp(sidecarUrl, `bench-rate-${i}`);
      let maxBacklog = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          maxBacklog = Math.max(maxBacklog, await backlogOf(standalone));
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      const ceiling = await runPaced({ url: `${upstream.url}${PATH}`, headers: {}, rate, durationS: options.durationS });
      const run = await runPaced({ url: `${standalone.url}${PATH}`, headers: { 'x-tpp-id': SUBJECT }, rate, durationS: options.durationS });
      const endBacklog = await backlogOf(standalone);
      sampling = false;
      await sampler;
      const drainMs = await drainTime(standalone);
      const sustained = run.achieved >= 0.97 * Math.min(rate, ceiling.achieved) && drainMs !== undefined && drainMs <= DRAIN_TARGET_MS;
      rateRuns.push({ ...run, clientCeiling: ceiling.achieved, maxBacklog: Math.max(maxBacklog, endBacklog), endBacklog, drainMs, sustained });
      log(
        `${formatCount(rate)} req/s offered (the client alone reaches ${formatCount(ceiling.achieved)}/s): ${formatCount(run.achieved)} 2xx/s, ${formatCount(run.failed)} failed, ${formatCount(run.skipped)} skipped; ` +
          `backlog max ${formatCount(Math.max(maxBacklog, endBacklog))}, at the end ${formatCount(endBacklog)}, zero after ${drainMs === undefined ? '> 60 s' : formatMs(drainMs)}`,
      );
    }
    return {
      options,
      split: paired.baseline,
      standalone: paired.system,
      comparison: comparePaired(paired.baseline, paired.system),
      cpuUs: { split: cpuPerRequestUs(paired.baseline, 'server'), standalone: cpuPerRequestUs(paired.system, 'server') },
      afterRounds,
      rates: rateRuns,
      problems: paired.problems,
    };
  } finally {
    for (const child of started.reverse()) await child.stop().catch(() => {});
    await valkey?.stop();
    await kafka?.close();
  }
};

export const standaloneLoadRows = (r: StandaloneLoadResult): ReportRow[] => {
  const scenario = 'npm start under gateway load';
  const c = r.comparison;
  const highest = r.rates.filter((x) => x.sustained).at(-1);
  const at2000 = r.rates.find((x) => x.offered === 2_000);
  return [
    {
      scenario,
      measure: 'throughput (wrk)',
      baseline: `${formatCount(c.baseline.requestsPerSec)} req/s (split gateway)`,
      system: `${formatCount(c.system.requestsPerSec)} req/s`,
      comparison: `${formatRatio(c.throughputRatio)} (rounds: ${c.throughputRatios.map(formatRatio).join(', ')}); gateway process CPU ${formatUs(r.cpuUs.split)} vs ${formatUs(r.cpuUs.standalone)} per request`,
      target: '—',
      verdict: '—',
    },
    {
      scenario,
      measure: 'backlog after the saturating rounds',
      baseline: '—',
      system: `${formatCount(r.afterRounds.backlog)} events`,
      comparison: `zero after ${r.afterRounds.drainMs === undefined ? '> 60 s' : formatMs(r.afterRounds.drainMs)}`,
      target: '—',
      verdict: '—',
    },
    ...r.rates.map(
      (x): ReportRow => ({
        scenario,
        measure: `${formatCount(x.offered)} req/s for ${x.durationS} s`,
        baseline: `client alone ${formatCount(x.clientCeiling)}/s`,
        system: `${formatCount(x.achieved)} 2xx/s; backlog max ${formatCount(x.maxBacklog)}, at the end ${formatCount(x.endBacklog)}`,
        comparison: `zero ${x.drainMs === undefined ? 'not within 60 s' : `${formatMs(x.drainMs)} after the load`}`,
        target: x.offered === 2_000 ? `zero within ${formatMs(DRAIN_TARGET_MS)}` : '—',
        verdict: x.offered === 2_000 ? (x.sustained ? 'pass' : 'MISS') : x.sustained ? 'sustained' : 'not sustained',
      }),
    ),
    {
      scenario,
      measure: 'highest sustained rate',
      baseline: '—',
      system: highest ? `${formatCount(highest.offered)} req/s` : 'none of the rates',
      comparison: `rates tried: ${r.rates.map((x) => formatCount(x.offered)).join(', ')}`,
      target: '≥ 2,000 req/s',
      verdict: at2000?.sustained ? 'pass' : 'MISS',
    },
  ];
};

if (import.meta.main) {
  const options = benchOptionsOrExit(`node loadtest/src/standalone-load.ts [options]   (BENCH_RATES=1000,2000,… for the fixed rates)`);
  const rates = process.env.BENCH_RATES ? process.env.BENCH_RATES.split(',').map(Number) : DEFAULT_RATES;
  const result = await runStandaloneLoad(options, rates);
  console.log(`\n${reportTable(standaloneLoadRows(result))}`);
  for (const p of result.problems) console.log(`PROBLEM: ${p}`);
}
