import { join } from 'node:path';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { benchOptionsOrExit, type BenchOptions } from './options.ts';
import { scratchDir, serverStarter, type ServerChild } from './process/child.ts';
import { sampleMemory, type MemoryPeak } from './process/proc-status.ts';
import { profileComparisonReport, type ProfileComparison } from './profile/profile-dir.ts';
import { randomUUID } from 'node:crypto';
import { comparePaired, cpuBreakdownUs, cpuModelRatio, extraWritesPerRequest, type PairedComparison } from './report/compare.ts';
import { reportTable } from './report/format.ts';
import { gatewayOverheadRows } from './report/gateway-rows.ts';

export { gatewayOverheadRows };
import { UPSTREAM_BODY } from './servers/upstream-body.ts';
import { runWrk } from './wrk/run-wrk.ts';
import type { Contender, MeasuredRun } from './alternate.ts';
import { debitMismatch, runPairedScenario } from './paired-scenario.ts';
import { runKafkaDownRound, type KafkaDownRound } from './kafka-down-round.ts';
import { openBenchValkey, type BenchValkey } from './valkey/bench-valkey.ts';

/**
 * Gateway overhead: what tollgate (one atomic debit per request, one api.call event, the
 * RateLimit fields) costs on top of the same Hono + undici proxy without it.
 *
 * Processes: wrk → (a) bare proxy | (b) gateway → upstream (node:http), plus Valkey for
 * (b). Each is its own process, as in production. Runs alternate a, b, a, b … so that
 * drift of a shared machine cancels in each round's ratio.
 */
/**
 * The V8 flags the gateway starts with (`npm start -w gateway-plugin`): a young generation of
 * at most 2 × 16 MB semi-spaces and an old generation grown ×1.5 between major GCs keep its
 * resident memory under 200 MB under load (300-340 MB without). Both proxies
 * get them, so that the baseline differs from the gateway only by tollgate.
 */
const PROXY_NODE_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=50'];

const SUBJECT = 'tpp-loadtest';
/** The variant gateway's own subject: two gateways on one Valkey must not share a balance. */
const VARIANT_SUBJECT = 'tpp-loadtest-variant';
const GRANT = 1_000_000_000_000;
const PATH = '/open-banking/v3.1/aisp/accounts';

export interface GatewayOverheadResult {
  store: BenchOptions['store'];
  options: BenchOptions;
  bare: MeasuredRun[];
  gateway: MeasuredRun[];
  /** CPU µs per request of each process (`wrk`, `server`, `upstream`, `valkey`; median over rounds). */
  cpu: { bare: Record<string, number>; gateway: Record<string, number>; modelRatio: number | undefined };
  /** Extra write system calls per request of the system over the baseline: its writes to Valkey. */
  valkeyWritesPerRequest: number | undefined;
  /** Debits per Valkey socket read during the gateway runs: what auto-pipelining achieved. */
  valkeyCommandsPerRead: number | undefined;
  comparison: PairedComparison;
  memory: { gateway: MemoryPeak; bare: MemoryPeak };
  /** Credits the gateway debited vs responses wrk counted: equal (up to requests cut off at the end of a run) when every call was charged once. */
  accounting: { responses: number; debited: number; events: Record<string, number>; counters: Record<string, number> };
  /** Memory figures each proxy reported about itself after the load (process.memoryUsage()). */
  processMemory: { gateway: Record<string, number>; bare: Record<string, number> };
  /** Problems that make the figures unreliable (failed requests, capped runs, accounting gaps). */
  problems: string[];
  /** The light-load pair (BenchOptions.lightConnections): added latency without queueing. */
  light: PairedComparison | undefined;
  /** CPU profiles of both contenders over the measured runs (with --profile). */
  profile: ProfileComparison | undefined;
  /** With the Kafka emitter: one more pair with the broker stopped. */
  kafkaDown: KafkaDownRound | undefined;
  /** Whether the gateway produced to Kafka, and where that broker ran. */
  kafka: { brokers: string; local: boolean } | undefined;
  /** The gateway with `options.variant`'s environment, measured after the gateway in every round. */
  variant:
    | { label: string; runs: MeasuredRun[]; comparison: PairedComparison; light: PairedComparison | undefined; stats: Record<string, number> }
    | undefined;
  /** What the gateway process reported about its events and decisions after the load. */
  stats: Record<string, number>;
}

const expectOk = async (url: string, headers: Record<string, string>, status: number, body?: string) => {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (res.status !== status || (body !== undefined && text !== body)) {
    throw new Error(`smoke check ${url} ${JSON.stringify(headers)}: expected ${status}${body ? ` ${body}` : ''}, got ${res.status} ${text.slice(0, 300)}`);
  }
};

export const runGatewayOverhead = async (options: BenchOptions, log: (line: string) => void = console.log): Promise<GatewayOverheadResult> => {
  const started: ServerChild[] = [];
  let valkey: BenchValkey | undefined;
  let kafka: KafkaBroker | undefined;
  const profileDir = join(scratchDir, `profile-gateway-${options.store}`);
  try {
    if (options.store === 'valkey') {
      valkey = await openBenchValkey(options.valkeyUrl);
      log(valkey.description);
    }
    // BENCH_EMITTER=kafka: the gateway produces its events to a real broker (the metering path),
    // started here unless --kafka-brokers names one elsewhere.
    const withKafka = process.env.BENCH_EMITTER === 'kafka';
    if (withKafka && !options.kafkaBrokers) {
      kafka = await startKafka({ numPartitions: 6 });
      log(`kafka on ${kafka.brokers}`);
    } else if (withKafka) log(`kafka at ${options.kafkaBrokers}, not on this machine: its CPU is not counted`);
    const brokers = withKafka ? (kafka?.brokers ?? options.kafkaBrokers ?? '') : '';
    const start = serverStarter(started, log);
    const upstream = await start('upstream', 'upstream.ts');
    const bare = await start('bare-proxy', 'bare-proxy.ts', { env: { UPSTREAM_URL: upstream.url }, execArgv: PROXY_NODE_FLAGS });
    const gatewayEnv = (subject: string, topic: string) => ({
      UPSTREAM_URL: upstream.url,
      VALKEY_URL: valkey?.url ?? '',
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: topic,
      BENCH_SUBJECT: subject,
      BENCH_GRANT: String(GRANT),
    });
    const gateway = await start(`gateway-${options.store}`, 'gateway.ts', { env: gatewayEnv(SUBJECT, `bench-${randomUUID()}`), execArgv: PROXY_NODE_FLAGS });
    const variantEnv = Object.entries(options.variant);
    const variantLabel = `gateway (${options.store}, ${variantEnv.map(([k, v]) => `${k}=${v}`).join(' ')})`;
    const variant =
      variantEnv.length > 0
        ? await start(`gateway-${options.store}-variant`, 'gateway.ts', {
            env: { ...gatewayEnv(VARIANT_SUBJECT, `bench-${randomUUID()}`), ...options.variant },
            execArgv: PROXY_NODE_FLAGS,
          })
        : undefined;

    // Both proxies must really proxy, and the gateway must really enforce, before anything is measured.
    const header = { 'x-tpp-id': SUBJECT };
    await expectOk(`${bare.url}${PATH}`, header, 200, UPSTREAM_BODY);
    await expectOk(`${gateway.url}${PATH}`, header, 200, UPSTREAM_BODY);
    await expectOk(`${gateway.url}${PATH}`, {}, 401);
    await expectOk(`${gateway.url}${PATH}`, { 'x-tpp-id': 'tpp-without-credits' }, 429);
    const smokeResponses = 1;

    const wrk = (target: ServerChild, headers = header) => (durationS: number, connections = options.connections) =>
      runWrk({
        url: `${target.url}${PATH}`,
        durationS,
        connections,
        threads: options.threads,
        maxRequests: options.maxRequestsPerRun,
        headers,
      });
    const baseline: Contender = { label: 'bare proxy', child: bare, pids: { server: bare.pid, upstream: upstream.pid }, run: wrk(bare) };
    const system: Contender = {
      child: gateway,
      label: `gateway (${options.store})`,
      pids: {
        server: gateway.pid,
        upstream: upstream.pid,
        ...(valkey?.pid ? { valkey: valkey.pid } : {}),
        // The broker's CPU is the metering path's too: it competes for the same cores.
        ...(kafka?.pid() ? { kafka: kafka.pid() ?? -1 } : {}),
      },
      run: wrk(gateway),
    };
    if (variant) await expectOk(`${variant.url}${PATH}`, { 'x-tpp-id': VARIANT_SUBJECT }, 200, UPSTREAM_BODY);
    const others: Contender[] = variant
      ? [{ ...system, label: variantLabel, child: variant, pids: { ...system.pids, server: variant.pid }, run: wrk(variant, { 'x-tpp-id': VARIANT_SUBJECT }) }]
      : [];

    // Sampling starts at rest (the first sample), before any load.
    const memory = { gateway: sampleMemory(gateway.pid), bare: sampleMemory(bare.pid) };
    const paired = await runPairedScenario({ baseline, system, others, options, profileDir, valkeyUrl: valkey?.url }, log);
    const { baseline: bareRuns, system: gatewayRuns, profile, light, problems } = paired;
    const kafkaDown = kafka
      ? await runKafkaDownRound(
          { broker: kafka, baseline, system, durationS: options.durationS, spooled: async () => (await gateway.stats())['events.spooled'] },
          log,
        )
      : undefined;
    const peaks = { gateway: await memory.gateway.stop(), bare: await memory.bare.stop() };

    const stats = await gateway.stats();
    const bareStats = await bare.stats();
    const pick = (s: Record<string, number>, prefix: string) => Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith(prefix)));
    const accounting = {
      responses: smokeResponses + paired.systemResponses + (kafkaDown?.system.requests ?? 0),
      debited: (stats.granted ?? 0) - (stats.balance ?? 0),
      events: pick(stats, 'events'),
      counters: { ...pick(stats, 'decisions.'), ...pick(stats, 'storeErrors.') },
    };
    const processMemory = { gateway: pick(stats, 'memory.'), bare: pick(bareStats, 'memory.') };
    // The broker-stopped pair is one more run whose requests cut off at its end were debited too.
    const mismatch = debitMismatch(kafkaDown ? { ...options, rounds: options.rounds + 1 } : options, accounting, 'the gateway', 'responses');
    if (mismatch) problems.push(mismatch);

    const variantRuns = paired.others[0];
    const variantLight = light?.others[0];
    const variantResult =
      variant && variantRuns
        ? {
            label: variantLabel,
            runs: variantRuns,
            comparison: comparePaired(bareRuns, variantRuns),
            light: light && variantLight ? comparePaired([light.baseline], [variantLight]) : undefined,
            stats: await variant.stats(),
          }
        : undefined;

    for (const child of started.splice(0).reverse()) await child.stop();

    return {
      store: options.store,
      options,
      bare: bareRuns,
      gateway: gatewayRuns,
      comparison: comparePaired(bareRuns, gatewayRuns),
      cpu: { bare: cpuBreakdownUs(bareRuns), gateway: cpuBreakdownUs(gatewayRuns), modelRatio: cpuModelRatio(bareRuns, gatewayRuns) },
      valkeyCommandsPerRead: paired.valkeyCommandsPerRead,
      valkeyWritesPerRequest: valkey ? extraWritesPerRequest(bareRuns, gatewayRuns) : undefined,
      memory: peaks,
      accounting,
      processMemory,
      problems,
      profile,
      light: light && comparePaired([light.baseline], [light.system]),
      kafkaDown,
      kafka: withKafka ? { brokers, local: kafka !== undefined } : undefined,
      variant: variantResult,
      stats,
    };
  } finally {
    for (const child of started.reverse()) await child.stop().catch(() => {});
    await valkey?.stop();
    await kafka?.close();
  }
};

if (import.meta.main) {
  const options = benchOptionsOrExit(`node loadtest/src/gateway-overhead.ts [options]`);
  const result = await runGatewayOverhead(options);
  console.log(`\n${reportTable(gatewayOverheadRows(result))}`);
  console.log(`\naccounting: ${JSON.stringify(result.accounting)}`);
  for (const p of result.problems) console.log(`PROBLEM: ${p}`);
  if (result.profile) console.log(`\n${profileComparisonReport(result.profile)}`);
}
