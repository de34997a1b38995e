import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { creditKeys, epochMinute, storeKeys } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { benchOptionsOrExit, type BenchOptions } from './options.ts';
import { join } from 'node:path';
import { scratchDir, serverStarter, type ServerChild } from './process/child.ts';
import { profileComparisonReport, type ProfileComparison } from './profile/profile-dir.ts';
import { comparePaired, cpuBreakdownUs, extraWritesPerRequest, verdict, type PairedComparison } from './report/compare.ts';
import { formatCount, formatCpuBreakdown, formatDeltaMs, formatMs, formatPipelining, formatRatio, reportTable, type ReportRow } from './report/format.ts';
import { runValkeyBenchmark, type ValkeyBenchmarkRun } from './valkey/run-valkey-benchmark.ts';
import { runWrk } from './wrk/run-wrk.ts';
import { lightLoadRows, p50Row } from './report/latency-rows.ts';
import type { Contender, MeasuredRun } from './alternate.ts';
import { debitMismatch, runPairedScenario } from './paired-scenario.ts';
import { openBenchValkey, type BenchValkey } from './valkey/bench-valkey.ts';

/**
 * Sidecar authorize: decisions per second of `POST /v1/authorize` (one debit each), beside
 * (a) the same HTTP work without a store (Hono reading the JSON body and answering), and
 * (b) the ceiling of the debit script itself, measured by valkey-benchmark calling it with
 * EVALSHA, unpipelined and 16-deep pipelined. Runs of (a) and the sidecar alternate.
 */
export const TARGETS = { decisionsPerSec: 30_000 } as const;

const SUBJECT = 'tpp-loadtest';
const CEILING_SUBJECT = 'tpp-loadtest-ceiling';
const GRANT = 1_000_000_000_000;
const CEILING_REQUESTS = { unpipelined: 300_000, pipelined: 1_000_000 } as const;

export interface ScriptCeiling {
  sha: string;
  unpipelined: ValkeyBenchmarkRun;
  pipelined: ValkeyBenchmarkRun;
}

export interface SidecarAuthorizeResult {
  store: BenchOptions['store'];
  options: BenchOptions;
  bare: MeasuredRun[];
  sidecar: MeasuredRun[];
  /** CPU µs per decision of each process (`wrk`, `server`, `valkey`; median over rounds). */
  cpu: { bare: Record<string, number>; sidecar: Record<string, number> };
  /** Extra write system calls per request of the system over the baseline: its writes to Valkey. */
  valkeyWritesPerRequest: number | undefined;
  /** Debits per Valkey socket read during the sidecar runs: what auto-pipelining achieved. */
  valkeyCommandsPerRead: number | undefined;
  comparison: PairedComparison;
  /** Absent with the memory store: there is no script to measure. */
  ceiling: ScriptCeiling | undefined;
  /** Credits debited vs decisions wrk counted, and the sidecar's own decision and store-error counters. */
  accounting: { responses: number; debited: number; counters: Record<string, number> };
  problems: string[];
  /** The light-load pair (BenchOptions.lightConnections): added latency without queueing. */
  light: PairedComparison | undefined;
  /** CPU profiles of both contenders over the measured runs (with --profile). */
  profile: ProfileComparison | undefined;
}

/** The debit script, read from the one file it is defined in. */
const debitScriptSource = (): string =>
  readFileSync(fileURLToPath(new URL('./credits/scripts/debit.lua', import.meta.resolve('@tollgate/core'))), 'utf8');

/**
 * The debit script's own ceiling: valkey-benchmark sends EVALSHA of the script (loaded with
 * SCRIPT LOAD) for one subject with a huge balance. Each run must lower the balance by
 * exactly its request count, which proves every call ran the script and debited.
 */
const measureScriptCeiling = async (valkey: BenchValkey, clients: number, problems: string[]): Promise<ScriptCeiling> => {
  const store = new ValkeyCreditStore({ url: valkey.url });
  try {
    await store.connected();
    const source = debitScriptSource();
    const sha = String(await store.client.script('LOAD', source));
    if (sha !== createHash('sha1').update(source).digest('hex')) throw new Error(`SCRIPT LOAD answered ${sha}, not the SHA-1 of debit.lua`);
    await store.applyGrant(CEILING_SUBJECT, 'ceiling', 'loadtest', GRANT);
    const keys = creditKeys(CEILING_SUBJECT);
    // One debit of cost 1 for subject 1 (the restored marker, then its three keys) in the current minute.
    if (!(await store.restoreStatus()).restored) await store.completeRestore(await store.beginRestore());
    const command = ['EVALSHA', sha, '4', storeKeys.restored, keys.balance, keys.buckets, keys.watermark, String(epochMinute(Date.now())), '1', '1'];

    const run = async (requests: number, pipeline: number) => {
      const before = await store.balance(CEILING_SUBJECT);
      const result = await runValkeyBenchmark({ host: valkey.host, port: valkey.port, user: valkey.user, password: valkey.password, requests, clients, pipeline, command });
      const spent = before - (await store.balance(CEILING_SUBJECT));
      if (spent !== requests) problems.push(`valkey-benchmark -P ${pipeline}: ${requests} EVALSHA calls debited ${spent} credits`);
      return result;
    };
    return { sha, unpipelined: await run(CEILING_REQUESTS.unpipelined, 1), pipelined: await run(CEILING_REQUESTS.pipelined, 16) };
  } finally {
    await store.close();
  }
};

const expectStatus = async (url: string, subject: string, status: number) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'tollgate-authorize-token': 'bench-authorize-token' },
    body: JSON.stringify({ subject, method: 'GET', path: '/accounts' }),
  });
  const text = await res.text();
  if (res.status !== status) throw new Error(`smoke check POST ${url} for ${subject}: expected ${status}, got ${res.status} ${text.slice(0, 300)}`);
};

export const runSidecarAuthorize = async (options: BenchOptions, log: (line: string) => void = console.log): Promise<SidecarAuthorizeResult> => {
  const started: ServerChild[] = [];
  let valkey: BenchValkey | undefined;
  const problems: string[] = [];
  const profileDir = join(scratchDir, `profile-sidecar-${options.store}`);
  try {
    let ceiling: ScriptCeiling | undefined;
    if (options.store === 'valkey') {
      valkey = await openBenchValkey(options.valkeyUrl);
      log(valkey.description);
      ceiling = await measureScriptCeiling(valkey, options.connections, problems);
      log(`debit script ceiling: ${formatCount(ceiling.unpipelined.requestsPerSec)} ops/s unpipelined, ${formatCount(ceiling.pipelined.requestsPerSec)} ops/s with -P 16`);
    }
    const start = serverStarter(started, log);
    const workers = { BENCH_WORKERS: String(options.workers) };
    const bare = await start('bare-authorize', 'bare-authorize.ts', { env: workers });
    const sidecar = await start(`sidecar-${options.store}`, 'sidecar.ts', {
      env: { ...workers, VALKEY_URL: valkey?.url ?? '', BENCH_SUBJECT: SUBJECT, BENCH_GRANT: String(GRANT) },
    });

    const path = '/v1/authorize';
    await expectStatus(`${bare.url}${path}`, SUBJECT, 200);
    await expectStatus(`${sidecar.url}${path}`, SUBJECT, 200);
    await expectStatus(`${sidecar.url}${path}`, 'tpp-without-credits', 429);
    const smokeResponses = 1;

    const wrk = (target: ServerChild) => (durationS: number, connections = options.connections) =>
      runWrk({
        url: `${target.url}${path}`,
        durationS,
        connections,
        threads: options.threads,
        maxRequests: options.maxRequestsPerRun,
        script: 'authorize',
        subject: SUBJECT,
      });
    // A server of several workers: its primary and each worker count as the server's CPU.
    const serverPids = (child: ServerChild) => ({ server: child.pid, ...Object.fromEntries(child.workers.map((pid, i) => [`worker${i + 1}`, pid])) });
    const baseline: Contender = { label: 'bare Hono JSON', child: bare, pids: serverPids(bare), run: wrk(bare) };
    const system: Contender = {
      child: sidecar,
      label: `sidecar (${options.store})`,
      pids: { ...serverPids(sidecar), ...(valkey?.pid ? { valkey: valkey.pid } : {}) },
      run: wrk(sidecar),
    };

    const paired = await runPairedScenario({ baseline, system, options, profileDir, unit: 'decisions/s', valkeyUrl: valkey?.url }, log);
    const { baseline: bareRuns, system: sidecarRuns, profile, light } = paired;
    problems.push(...paired.problems);

    const stats = await sidecar.stats();
    const accounting = {
      responses: smokeResponses + paired.systemResponses,
      debited: (stats.granted ?? 0) - (stats.balance ?? 0),
      counters: Object.fromEntries(
        Object.entries(stats).filter(([k]) => k.startsWith('events') || k.startsWith('decisions.') || k.startsWith('storeErrors.')),
      ),
    };
    const mismatch = debitMismatch(options, accounting, 'the sidecar', 'decisions');
    if (mismatch) problems.push(mismatch);

    for (const child of started.splice(0).reverse()) await child.stop();
    return {
      store: options.store,
      options,
      bare: bareRuns,
      sidecar: sidecarRuns,
      comparison: comparePaired(bareRuns, sidecarRuns),
      cpu: { bare: cpuBreakdownUs(bareRuns), sidecar: cpuBreakdownUs(sidecarRuns) },
      valkeyCommandsPerRead: paired.valkeyCommandsPerRead,
      valkeyWritesPerRequest: valkey ? extraWritesPerRequest(bareRuns, sidecarRuns) : undefined,
      ceiling,
      accounting,
      problems,
      profile,
      light: light && comparePaired([light.baseline], [light.system]),
    };
  } finally {
    for (const child of started.reverse()) await child.stop().catch(() => {});
    await valkey?.stop();
  }
};

/** The scenario's lines of the summary table. */
export const sidecarAuthorizeRows = (r: SidecarAuthorizeResult): ReportRow[] => {
  const c = r.comparison;
  const scenario = `sidecar authorize (${r.store} store)`;
  const invalid = r.problems.length > 0 ? ' (see problems)' : '';
  const rows: ReportRow[] = [
    {
      scenario,
      measure: 'decisions/s',
      baseline: `${formatCount(c.baseline.requestsPerSec)} req/s (Hono JSON, no store)`,
      system: `${formatCount(c.system.requestsPerSec)} decisions/s`,
      comparison: `${formatRatio(c.throughputRatio)} (rounds: ${c.throughputRatios.map(formatRatio).join(', ')})`,
      target: `≥ ${formatCount(TARGETS.decisionsPerSec)}/s`,
      verdict: verdict(c.system.requestsPerSec, TARGETS.decisionsPerSec, 'atLeast') + invalid,
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
    p50Row(scenario, c),
    ...lightLoadRows(scenario, r.light, r.options.lightConnections),
    {
      scenario,
      measure: 'CPU per decision, every process',
      baseline: formatCpuBreakdown(r.cpu.bare, { server: 'Hono' }),
      system: formatCpuBreakdown(r.cpu.sidecar, { server: 'sidecar' }),
      comparison: formatPipelining(r.valkeyWritesPerRequest, r.valkeyCommandsPerRead) || '—',
      target: '—',
      verdict: '—',
    },
  ];
  if (r.ceiling) {
    for (const [name, run] of [
      ['unpipelined', r.ceiling.unpipelined],
      ['pipelined -P 16', r.ceiling.pipelined],
    ] as const) {
      rows.push({
        scenario: 'debit script ceiling (valkey-benchmark EVALSHA)',
        measure: `ops/s, ${name}, ${run.clients} clients`,
        baseline: '—',
        system: `${formatCount(run.requestsPerSec)} ops/s (p99 ${formatMs(run.p99Ms)})`,
        comparison: `sidecar reaches ${formatRatio(c.system.requestsPerSec / run.requestsPerSec)} of it`,
        target: '—',
        verdict: '—',
      });
    }
  }
  return rows;
};

if (import.meta.main) {
  const options = benchOptionsOrExit(`node loadtest/src/sidecar-authorize.ts [options]`);
  const result = await runSidecarAuthorize(options);
  console.log(`\n${reportTable(sidecarAuthorizeRows(result))}`);
  console.log(`\naccounting: ${JSON.stringify(result.accounting)}`);
  for (const p of result.problems) console.log(`PROBLEM: ${p}`);
  if (result.profile) console.log(`\n${profileComparisonReport(result.profile)}`);
}
