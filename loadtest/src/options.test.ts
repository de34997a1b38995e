import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseBenchOptions, wrkSecondsBound } from './options.ts';

describe('parseBenchOptions', () => {
  it('defaults to bounded 10 s runs, 50 connections, five A/B rounds on Valkey', () => {
    expect(parseBenchOptions([], {})).toEqual({
      durationS: 10,
      warmupS: 3,
      rounds: 5,
      connections: 50,
      lightConnections: 2,
      threads: 1,
      maxRequestsPerRun: 2_000_000,
      store: 'valkey',
      valkeyUrl: undefined,
      kafkaBrokers: undefined,
      profile: false,
      workers: availableParallelism(),
      variant: {},
    });
  });

  it('takes a Kafka that runs elsewhere from --kafka-brokers or BENCH_KAFKA_BROKERS, and refuses what is not host:port', () => {
    expect(parseBenchOptions(['--kafka-brokers', 'kafka-bench:9092'], {}).kafkaBrokers).toBe('kafka-bench:9092');
    expect(parseBenchOptions([], { BENCH_KAFKA_BROKERS: '10.0.0.7:9092, 10.0.0.8:9092' }).kafkaBrokers).toBe('10.0.0.7:9092,10.0.0.8:9092');
    expect(parseBenchOptions([], { BENCH_KAFKA_BROKERS: '' }).kafkaBrokers).toBeUndefined();
    expect(() => parseBenchOptions(['--kafka-brokers', 'kafka-bench'], {})).toThrow(/--kafka-brokers \(BENCH_KAFKA_BROKERS\) must be host:port/);
    expect(() => parseBenchOptions(['--kafka-brokers', 'http://kafka:9092'], {})).toThrow(/must be host:port/);
  });

  it('takes the environment of a gateway variant from --variant or BENCH_VARIANT, as NAME=value pairs', () => {
    expect(parseBenchOptions(['--variant', 'KAFKA_LINGER_MS=5 EVENT_LOG_FSYNC_MS=100'], {}).variant).toEqual({ KAFKA_LINGER_MS: '5', EVENT_LOG_FSYNC_MS: '100' });
    expect(parseBenchOptions([], { BENCH_VARIANT: 'KAFKA_LINGER_MS=' }).variant).toEqual({ KAFKA_LINGER_MS: '' });
    expect(() => parseBenchOptions(['--variant', 'linger=5'], {})).toThrow(/--variant \(BENCH_VARIANT\) takes NAME=value pairs, got "linger=5"/);
  });

  it('takes a Valkey that runs elsewhere from --valkey-url or BENCH_VALKEY_URL', () => {
    expect(parseBenchOptions(['--valkey-url', 'redis://valkey-bench:6380'], {}).valkeyUrl).toBe('redis://valkey-bench:6380');
    expect(parseBenchOptions([], { BENCH_VALKEY_URL: 'redis://:secret@10.0.0.7' }).valkeyUrl).toBe('redis://:secret@10.0.0.7');
    expect(parseBenchOptions([], { BENCH_VALKEY_URL: '' }).valkeyUrl).toBeUndefined();
  });

  it('refuses a --valkey-url the scenarios cannot use, without showing its password', () => {
    const problems = (url: string, argv: string[] = []) => {
      try {
        parseBenchOptions(['--valkey-url', url, ...argv], {});
      } catch (err) {
        return String(err);
      }
      return '';
    };
    expect(problems('valkey-bench:6379')).toContain('must be a redis:// URL');
    expect(problems('rediss://valkey-bench')).toContain('must be redis:// (the benchmarks do not speak TLS)');
    expect(problems('redis://valkey-bench/2')).toContain('must not name a database');
    expect(problems('not a url')).toContain('must be a URL');
    const secret = problems('redis://bench:hunter2@valkey-bench/1');
    expect(secret).toContain('"redis://bench:***@valkey-bench/1"');
    expect(secret).not.toContain('hunter2');
    expect(problems('redis://valkey-bench', ['--store', 'memory'])).toContain('--valkey-url (BENCH_VALKEY_URL) needs --store valkey');
  });

  it('runs the sidecar with BENCH_WORKERS processes, from 1 to 64', () => {
    expect(parseBenchOptions(['--workers', '3'], {}).workers).toBe(3);
    expect(parseBenchOptions([], { BENCH_WORKERS: '1' }).workers).toBe(1);
    expect(() => parseBenchOptions(['--workers', '0'], {})).toThrow(/--workers \(BENCH_WORKERS\) must be an integer from 1 to 64/);
  });

  it('takes flags over environment variables', () => {
    const o = parseBenchOptions(['--duration', '5', '--store', 'memory', '--profile'], {
      BENCH_DURATION: '30',
      BENCH_ROUNDS: '3',
      BENCH_STORE: 'valkey',
    });
    expect(o).toMatchObject({ durationS: 5, rounds: 3, store: 'memory', profile: true, maxRequestsPerRun: 1_000_000 });
  });

  it('reads BENCH_PROFILE and an explicit request bound', () => {
    expect(parseBenchOptions([], { BENCH_PROFILE: '1', BENCH_MAX_REQUESTS: '5000' })).toMatchObject({
      profile: true,
      maxRequestsPerRun: 5000,
    });
  });

  it('reports every problem at once and refuses unbounded values', () => {
    let message = '';
    try {
      parseBenchOptions(['--duration', '0', '--rounds', '11', '--store', 'redis'], { BENCH_CONNECTIONS: '5x' });
    } catch (err) {
      message = String(err);
    }
    expect(message).toContain('--duration (BENCH_DURATION) must be an integer from 1 to 120, got "0"');
    expect(message).toContain('--rounds (BENCH_ROUNDS) must be an integer from 1 to 10, got "11"');
    expect(message).toContain('--connections (BENCH_CONNECTIONS) must be an integer from 1 to 1000, got "5x"');
    expect(message).toContain('--store (BENCH_STORE) must be valkey or memory, got "redis"');
  });

  it('refuses unknown flags', () => {
    expect(() => parseBenchOptions(['--durration', '5'], {})).toThrow(/Unknown option/);
  });

  it('refuses fewer connections than threads', () => {
    expect(() => parseBenchOptions(['--threads', '4', '--connections', '2'], {})).toThrow('at least --threads');
  });
});

describe('wrkSecondsBound', () => {
  it('adds warm-up and measured runs of every target', () => {
    expect(wrkSecondsBound(parseBenchOptions([], {}), 2)).toBe(2 * (3 + 5 * 10 + 10));
    expect(wrkSecondsBound(parseBenchOptions(['--light-connections', '0'], {}), 2)).toBe(2 * (3 + 5 * 10));
  });
});

describe('a benchmark command line', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [fileURLToPath(new URL('./event-log-cost.ts', import.meta.url)), ...args], { encoding: 'utf8', timeout: 30_000 });

  it('prints its usage and exits 0 on --help, measuring nothing', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: node loadtest\/src\/event-log-cost\.ts/);
    expect(r.stdout).toContain('--rounds N');
  });

  it('names a bad option and prints the usage once, exit 2', () => {
    const r = run('--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Unknown option '--bogus'");
    expect(r.stderr.split('options (flag, or environment variable)').length).toBe(2);
  });
});
