import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

/** How long and how hard a scenario runs. Every value is bounded, so no run is open-ended. */
export interface BenchOptions {
  /** Seconds of each measured wrk run. */
  durationS: number;
  /** Seconds of the unmeasured run that warms each target up (JIT, connection pools). */
  warmupS: number;
  /** Alternating rounds: each round is one baseline run next to one system run. */
  rounds: number;
  connections: number;
  /** Connections of the extra light-load round, where latency is not queueing (0: skip it). */
  lightConnections: number;
  threads: number;
  /** Hard bound on the requests of one wrk run; a run that reaches it stops early and is flagged. */
  maxRequestsPerRun: number;
  /** Credit store of the system under test. */
  store: 'valkey' | 'memory';
  /**
   * A Valkey that runs elsewhere (its own cores or host), used instead of one started on this
   * machine. Its CPU time is then not in the figures. The scenarios write their subjects' keys.
   */
  valkeyUrl: string | undefined;
  /**
   * `host:port[,host:port…]` of a Kafka that runs elsewhere, used by the Kafka scenarios instead
   * of a broker started on this machine. Its CPU time is then not in the figures, and the round
   * with the broker stopped is skipped (it is not ours to stop). The scenarios create their topics.
   */
  kafkaBrokers: string | undefined;
  /** Run the system under test with `--cpu-prof` and summarize where its time went. */
  profile: boolean;
  /** Processes of the sidecar and of its baseline on one port (SIDECAR_WORKERS); one per core by default. */
  workers: number;
  /**
   * Environment of a second gateway measured beside the first in every round (e.g.
   * `KAFKA_LINGER_MS=5`): a variant compared in the same run. Empty: none.
   */
  variant: Record<string, string>;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  durationS: 10,
  warmupS: 3,
  // Five short rounds rather than two long ones: on a shared machine, the median of five
  // neighbouring baseline/system pairs moves less than that of two.
  rounds: 5,
  connections: 50,
  lightConnections: 2,
  threads: 1,
  maxRequestsPerRun: 0, // 0: derived from the duration, see below
  store: 'valkey',
  valkeyUrl: undefined,
  kafkaBrokers: undefined,
  profile: false,
  workers: availableParallelism(),
  variant: {},
};

// Far above what this class of machine serves (bare node:http ≈ 70k req/s on 2 cores),
// so the bound only trips when something is wrong, yet it is a bound.
const MAX_RATE_PER_SECOND = 200_000;

const FLAGS = {
  duration: { env: 'BENCH_DURATION', min: 1, max: 120 },
  warmup: { env: 'BENCH_WARMUP', min: 0, max: 30 },
  rounds: { env: 'BENCH_ROUNDS', min: 1, max: 10 },
  connections: { env: 'BENCH_CONNECTIONS', min: 1, max: 1000 },
  'light-connections': { env: 'BENCH_LIGHT_CONNECTIONS', min: 0, max: 1000 },
  threads: { env: 'BENCH_THREADS', min: 1, max: 8 },
  'max-requests': { env: 'BENCH_MAX_REQUESTS', min: 1, max: 100_000_000 },
  workers: { env: 'BENCH_WORKERS', min: 1, max: 64 },
} as const;

export const USAGE = `options (flag, or environment variable):
  --duration S        BENCH_DURATION      seconds per measured run (1-120, default 10)
  --warmup S          BENCH_WARMUP        seconds of warm-up per target (0-30, default 3)
  --rounds N          BENCH_ROUNDS        alternating baseline/system rounds (1-10, default 5)
  --connections N     BENCH_CONNECTIONS   wrk connections (default 50)
  --light-connections N  BENCH_LIGHT_CONNECTIONS  connections of one extra light-load round
                      for latency without queueing (default 2; 0 skips it)
  --threads N         BENCH_THREADS       wrk threads (default 1)
  --max-requests N    BENCH_MAX_REQUESTS  hard bound on requests per run (default duration x 200k)
  --store S           BENCH_STORE         valkey | memory (default valkey)
  --valkey-url URL    BENCH_VALKEY_URL    redis://[user:password@]host[:port] of a Valkey for the
                      benchmarks alone, running on cores of its own, for the gateway and
                      sidecar scenarios instead of one started on this machine (default);
                      its CPU time is then not counted
  --kafka-brokers H:P BENCH_KAFKA_BROKERS host:port[,host:port…] of a Kafka for the benchmarks
                      alone, on cores of its own, instead of a broker started on this machine
                      (default); its CPU time is then not counted, and the round with the broker
                      stopped is skipped
  --workers N         BENCH_WORKERS       sidecar processes on one port, as SIDECAR_WORKERS
                      (default: one per core); its baseline runs as many
  --profile           BENCH_PROFILE=1     CPU-profile the system under test
  --variant "K=V …"   BENCH_VARIANT       the gateway scenarios run a second gateway with these
                      environment variables beside the first in every round (e.g.
                      "KAFKA_LINGER_MS=5"), reported as its own lines`;

/** What is wrong with a --valkey-url, or undefined: valkey-benchmark and the stores need a plain redis:// host. */
const valkeyUrlProblem = (raw: string): string | undefined => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol === 'rediss:') return 'must be redis:// (the benchmarks do not speak TLS)';
  if (url.protocol !== 'redis:') return 'must be a redis:// URL';
  if (!url.hostname) return 'must name a host';
  if (url.pathname.length > 1) return 'must not name a database (the stores use database 0)';
  return undefined;
};

/** `K=V K2=V2` as a record; each name must look like an environment variable. */
const parseVariant = (raw: string, problems: string[]): Record<string, string> => {
  const variant: Record<string, string> = {};
  for (const pair of raw.split(/\s+/).filter(Boolean)) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (m?.[1] === undefined || m[2] === undefined) problems.push(`--variant (BENCH_VARIANT) takes NAME=value pairs, got "${pair}"`);
    else variant[m[1]] = m[2];
  }
  return variant;
};

/**
 * Reads the options from flags, then environment variables, then defaults. Every problem
 * is reported at once.
 */
export const parseBenchOptions = (argv: readonly string[], env: Record<string, string | undefined>): BenchOptions => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      'light-connections': { type: 'string' },
      threads: { type: 'string' },
      'max-requests': { type: 'string' },
      store: { type: 'string' },
      'valkey-url': { type: 'string' },
      'kafka-brokers': { type: 'string' },
      workers: { type: 'string' },
      profile: { type: 'boolean' },
      variant: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const problems: string[] = [];
  const int = (flag: keyof typeof FLAGS, fallback: number): number => {
    const { env: name, min, max } = FLAGS[flag];
    const raw = values[flag] ?? env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`--${flag} (${name}) must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return Number(raw);
  };
  const d = DEFAULT_OPTIONS;
  const durationS = int('duration', d.durationS);
  const threads = int('threads', d.threads);
  const connections = int('connections', d.connections);
  const lightConnections = int('light-connections', d.lightConnections);
  if (lightConnections > 0 && lightConnections < threads) problems.push(`--light-connections must be 0 or at least --threads`);
  if (connections < threads) problems.push(`--connections must be at least --threads (wrk gives each thread its own connections)`);
  const rawStore = values.store ?? env.BENCH_STORE ?? d.store;
  if (rawStore !== 'valkey' && rawStore !== 'memory') problems.push(`--store (BENCH_STORE) must be valkey or memory, got "${rawStore}"`);
  const valkeyUrl = values['valkey-url'] || env.BENCH_VALKEY_URL || undefined;
  if (valkeyUrl !== undefined) {
    const problem = valkeyUrlProblem(valkeyUrl);
    // The URL as given, but for a password.
    const shown = valkeyUrl.replace(/\/\/([^@/]*:)[^@/]*@/, '//$1***@');
    if (problem) problems.push(`--valkey-url (BENCH_VALKEY_URL) ${problem}, got "${shown}"`);
    else if (rawStore === 'memory') problems.push('--valkey-url (BENCH_VALKEY_URL) needs --store valkey');
  }
  const kafkaBrokers = values['kafka-brokers'] || env.BENCH_KAFKA_BROKERS || undefined;
  if (kafkaBrokers !== undefined && !kafkaBrokers.split(',').every((b) => /^[^\s:,/]+:\d{1,5}$/.test(b.trim()))) {
    problems.push(`--kafka-brokers (BENCH_KAFKA_BROKERS) must be host:port[,host:port…], got "${kafkaBrokers}"`);
  }
  const options: BenchOptions = {
    durationS,
    warmupS: int('warmup', d.warmupS),
    rounds: int('rounds', d.rounds),
    connections,
    lightConnections,
    threads,
    maxRequestsPerRun: int('max-requests', durationS * MAX_RATE_PER_SECOND),
    store: rawStore === 'memory' ? 'memory' : 'valkey',
    valkeyUrl,
    kafkaBrokers: kafkaBrokers?.split(',').map((b) => b.trim()).join(','),
    profile: values.profile ?? ['1', 'true', 'yes'].includes(env.BENCH_PROFILE ?? ''),
    workers: int('workers', d.workers),
    variant: parseVariant(values.variant ?? env.BENCH_VARIANT ?? '', problems),
  };
  if (problems.length > 0) throw new Error(`invalid benchmark options:\n  - ${problems.join('\n  - ')}\n\n${USAGE}`);
  return options;
};

/** Upper bound of a scenario's wall time spent in wrk, for the "bounded" promise in the report. */
export const wrkSecondsBound = (o: BenchOptions, targets: number): number =>
  targets * (o.warmupS + o.rounds * o.durationS + (o.lightConnections > 0 ? o.durationS : 0));

/**
 * The options of a benchmark's command line, or its exit: `--help` (or `-h`) prints the usage
 * and exits 0; invalid options print every problem and the usage, and exit 2.
 */
export const benchOptionsOrExit = (usage: string, argv: readonly string[] = process.argv.slice(2), env: Record<string, string | undefined> = process.env): BenchOptions => {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`usage: ${usage}\n${USAGE}`);
    process.exit(0);
  }
  try {
    return parseBenchOptions(argv, env);
  } catch (err) {
    // A problem with the values lists them all and the options; one the parser found names only itself.
    const message = err instanceof Error ? err.message : String(err);
    console.error(`${message}\n\nusage: ${usage}${message.includes(USAGE) ? '' : `\n${USAGE}`}`);
    process.exit(2);
  }
};
