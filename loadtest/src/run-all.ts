import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MeasuredRun } from './alternate.ts';
import { gatewayOverheadRows, runGatewayOverhead, type GatewayOverheadResult } from './gateway-overhead.ts';
import { machineNotes } from './machine.ts';
import { benchOptionsOrExit, type BenchOptions } from './options.ts';
import { profileComparisonReport } from './profile/profile-dir.ts';
import { formatCount, formatMs, formatUs, reportTable, type ReportRow } from './report/format.ts';
import { renderResultsMarkdown, type RoundRow } from './report/results-markdown.ts';
import { BATCH } from './metering/bench-events.ts';
import { freshnessRows, runFreshness } from './metering/freshness.ts';
import { replayThroughputRows, runReplayThroughput } from './metering/replay-throughput.ts';
import { reconcileThroughputRows, runReconcileThroughput } from './reconcile/reconcile-throughput.ts';
import { runSinkThroughput, sinkThroughputRows } from './metering/sink-throughput.ts';
import { kafkaClientsRows, runKafkaClients } from './metering/kafka-clients.ts';
import { runSidecarAuthorize, sidecarAuthorizeRows } from './sidecar-authorize.ts';
import { eventLogCostRows, runEventLogCost } from './event-log-cost.ts';
import { DEFAULT_RATES, runStandaloneLoad, standaloneLoadRows } from './standalone-load.ts';
import { describeFailures } from './wrk/parse-wrk-output.ts';

/**
 * `npm run bench`: every scenario, one summary table on stdout, and loadtest/RESULTS.md.
 * The gateway scenario runs with the Valkey store and with the memory store (the
 * difference is the cost of the Valkey round trip) unless --store / BENCH_STORE picks one.
 */
const RESULTS_FILE = fileURLToPath(new URL('../RESULTS.md', import.meta.url));

const roundRows = (scenario: string, contender: string, runs: readonly MeasuredRun[]): RoundRow[] =>
  runs.map((r, i) => ({
    scenario,
    contender,
    round: i + 1,
    requestsPerSec: formatCount(r.requestsPerSec),
    p50: formatMs(r.percentiles?.p50Ms ?? Number.NaN),
    p99: formatMs(r.percentiles?.p99Ms ?? Number.NaN),
    requests: formatCount(r.requests),
    cpuPerRequest: formatUs(r.cpuMs.server === undefined ? undefined : (r.cpuMs.server * 1000) / Math.max(r.requests, 1)),
    failures: describeFailures(r),
  }));

const main = async () => {
  const options = benchOptionsOrExit(`npm run bench -- [options]`);
  const storeChosen = process.argv.some((a) => a.startsWith('--store')) || Boolean(process.env.BENCH_STORE);
  const gatewayStores: BenchOptions['store'][] = storeChosen ? [options.store] : ['valkey', 'memory'];

  const machine = machineNotes();
  const began = performance.now();
  const log = (line: string) => console.log(`  ${line}`);

  const summary: ReportRow[] = [];
  const rounds: RoundRow[] = [];
  const checks: string[] = [];
  const problems: string[] = [];
  const sections: { title: string; body: string }[] = [];

  const gateways: GatewayOverheadResult[] = [];
  for (const store of gatewayStores) {
    console.log(`\n# gateway overhead, ${store} store`);
    const r = await runGatewayOverhead({ ...options, store }, log);
    gateways.push(r);
    const scenario = `gateway (${store})`;
    summary.push(...gatewayOverheadRows(r));
    rounds.push(...roundRows(scenario, 'bare proxy', r.bare), ...roundRows(scenario, `gateway (${store})`, r.gateway));
    checks.push(
      `${scenario}: ${formatCount(r.accounting.responses)} responses, ${formatCount(r.accounting.debited)} credits debited, ` +
        `events ${JSON.stringify(r.accounting.events)}, counters ${JSON.stringify(r.accounting.counters)}`,
      `${scenario}: RSS of the gateway at rest ${formatMbOrDash(r.memory.gateway.first?.rssBytes)} ` +
        `(file-backed ${formatMbOrDash(r.memory.gateway.first?.rssFileBytes)}), under load peak anon ${formatMbOrDash(r.memory.gateway.peakAnonBytes)} ` +
        `+ file ${formatMbOrDash(r.memory.gateway.peakFileBytes)}; bare proxy at rest ${formatMbOrDash(r.memory.bare.first?.rssBytes)}; ` +
        `V8 after load: gateway ${JSON.stringify(mb(r.processMemory.gateway))}, bare ${JSON.stringify(mb(r.processMemory.bare))}`,
    );
    problems.push(...r.problems.map((p) => `${scenario}: ${p}`));
    if (r.profile) sections.push({ title: `CPU profile: gateway (${store})`, body: profileComparisonReport(r.profile) });
  }

  console.log(`\n# sidecar authorize, valkey store`);
  const s = await runSidecarAuthorize({ ...options, store: 'valkey' }, log);
  summary.push(...sidecarAuthorizeRows(s));
  rounds.push(...roundRows('sidecar', 'bare Hono JSON', s.bare), ...roundRows('sidecar', 'sidecar (valkey)', s.sidecar));
  checks.push(
    `sidecar: ${formatCount(s.accounting.responses)} decisions, ${formatCount(s.accounting.debited)} credits debited, counters ${JSON.stringify(s.accounting.counters)}`,
  );
  if (s.ceiling) {
    checks.push(`debit script ${s.ceiling.sha}: every valkey-benchmark EVALSHA call debited exactly one credit unless listed under problems`);
  }
  problems.push(...s.problems.map((p) => `sidecar: ${p}`));
  if (s.profile) sections.push({ title: 'CPU profile: sidecar (valkey)', body: profileComparisonReport(s.profile) });

  // The metering path: the gateway again with the Kafka emitter, then the sink and freshness.
  if (!storeChosen || options.store === 'valkey') {
    console.log('\n# gateway overhead, valkey store, Kafka emitter');
    process.env.BENCH_EMITTER = 'kafka';
    try {
      const r = await runGatewayOverhead({ ...options, store: 'valkey' }, log);
      summary.push(...gatewayOverheadRows(r));
      rounds.push(...roundRows('gateway (valkey, Kafka)', 'bare proxy', r.bare), ...roundRows('gateway (valkey, Kafka)', 'gateway (valkey, Kafka)', r.gateway));
      if (r.kafkaDown) {
        const down = 'gateway (valkey, Kafka), broker stopped';
        rounds.push(...roundRows(down, 'bare proxy', [r.kafkaDown.baseline]), ...roundRows(down, 'gateway (valkey, Kafka)', [r.kafkaDown.system]));
      }
      problems.push(...r.problems.map((p) => `gateway (valkey, Kafka): ${p}`));
    } finally {
      delete process.env.BENCH_EMITTER;
    }
  }
  console.log('\n# Kafka clients: kafkajs against @platformatic/kafka');
  const clients = await runKafkaClients({}, log);
  summary.push(...kafkaClientsRows(clients));
  checks.push(`Kafka clients: ${JSON.stringify(clients.clients)}`);
  const sinkEvents = Number(process.env.SINK_BENCH_EVENTS ?? 1_000_000);
  console.log(`\n# sink throughput, ${formatCount(sinkEvents)} events`);
  const sinkResult = await runSinkThroughput(sinkEvents, log);
  summary.push(...sinkThroughputRows(sinkResult));
  checks.push(`sink: produced at ${formatCount(sinkResult.produceRate)}/s; ${formatCount(sinkResult.stored)} of ${formatCount(sinkResult.events)} stored, each once`);
  console.log('\n# freshness, 5,000 events/s');
  const fresh = await runFreshness(5_000, 20, log);
  summary.push(...freshnessRows(fresh));

  // The single process: what its event log costs per call, and whether its sink keeps up.
  console.log('\n# event log cost per call (gateway, memory store)');
  const cost = await runEventLogCost({ ...options, store: 'memory' }, log);
  summary.push(...eventLogCostRows(cost));
  rounds.push(...roundRows('event log cost', 'gateway, in-process bus', cost.bus), ...roundRows('event log cost', 'gateway, event log', cost.log));
  problems.push(...cost.problems.map((p) => `event log cost: ${p}`));
  console.log('\n# npm start under gateway load');
  const single = await runStandaloneLoad(options, DEFAULT_RATES, log);
  summary.push(...standaloneLoadRows(single));
  rounds.push(...roundRows('npm start', 'split gateway (Valkey, Kafka)', single.split), ...roundRows('npm start', 'npm start', single.standalone));
  problems.push(...single.problems.map((p) => `npm start: ${p}`));

  // Reconciliation and replay.
  const reconcileSubjectsCount = Number(process.env.RECONCILE_BENCH_SUBJECTS ?? 100_000);
  console.log(`\n# reconcile ${formatCount(reconcileSubjectsCount)} subjects`);
  summary.push(...reconcileThroughputRows(await runReconcileThroughput(reconcileSubjectsCount, log)));
  console.log(`\n# full replay, ${formatCount(sinkEvents)} events`);
  summary.push(...replayThroughputRows(await runReplayThroughput(sinkEvents, log)));

  const loadParameters = [
    `wrk -t${options.threads} -c${options.connections} -d${options.durationS}s --latency, ${options.rounds} rounds alternating baseline/system, ${options.warmupS} s warm-up per target, at most ${formatCount(options.maxRequestsPerRun)} requests per run` +
      (options.lightConnections > 0 ? `; then one light-load pair with -c${options.lightConnections}` : ''),
    'gateway: GET with header x-tpp-id, upstream is a node:http server answering a small JSON body; sidecar: POST /v1/authorize {subject, method, path}',
    `gateway and bare proxy: one process each; sidecar and its baseline: ${options.workers} processes each on one port (SIDECAR_WORKERS / BENCH_WORKERS)`,
    options.valkeyUrl
      ? `Valkey of the gateway and sidecar scenarios: ${new URL(options.valkeyUrl).host}, given with --valkey-url, not started on this machine; its CPU time is not counted`
      : 'Valkey of the gateway and sidecar scenarios: started on this machine, on the same cores',
    'valkey-benchmark: EVALSHA of core/src/credits/scripts/debit.lua, 300,000 calls unpipelined and 1,000,000 with -P 16',
    'reconcile: one grant, two settled events and one real-time debit per subject; ClickHouse embedded, Valkey private; batches of 5,000 subjects',
    'Kafka clients: each measurement in a fresh process, clients alternating per round (medians of 3): producers idempotent, acks=all, murmur2 keys over 1,000 subjects, 5 ms linger at 10,000 msg/s for 10 s, batches of 5,000 one send at a time for 10 s at saturation; consumers read the same 500,000 events from the beginning',
    `metering: a single-node KRaft Kafka on the same machine, 6 partitions; the sink and the embedded ClickHouse engine in one process; sink batches of ${formatCount(BATCH)}, fetch wait 250 ms`,
    `event log cost: the gateway (memory store) with the in-process bus against the same gateway with the event log (fsync every 5 ms, not drained); npm start: standalone/src/main.ts with its defaults against the split gateway (Valkey, Kafka emitter), then fixed rates of ${DEFAULT_RATES.join(', ')} req/s for ${options.durationS} s each from a paced undici client (64 connections), the backlog sampled every 250 ms`,
    options.profile ? 'both contenders were CPU-profiled during the measured runs (the profiler costs each a few %)' : 'no profiler attached',
  ];
  const elapsedS = (performance.now() - began) / 1000;
  writeFileSync(RESULTS_FILE, renderResultsMarkdown({ machine, loadParameters, summary, rounds, checks, problems, sections, elapsedS }));

  console.log(`\n${reportTable(summary)}\n`);
  for (const p of problems) console.log(`PROBLEM: ${p}`);
  console.log(`written to ${RESULTS_FILE} (${elapsedS.toFixed(0)} s)`);
};

const formatMbOrDash = (bytes: number | undefined) => (bytes === undefined ? '—' : `${(bytes / 1024 / 1024).toFixed(0)} MB`);
const mb = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k.replace('memory.', ''), `${(v / 1024 / 1024).toFixed(0)} MB`]));

await main();
