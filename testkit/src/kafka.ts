import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaClient } from '@tollgate/core/kafka';
import { freePort } from './free-port.ts';
import { waitFor } from './wait-for.ts';

const START_SCRIPT = new URL('../../deploy/scripts/start-kafka.sh', import.meta.url).pathname;

/** A real single-node KRaft Kafka (broker + controller) on free loopback ports, in a temporary data directory. */
export interface KafkaBroker {
  /** `host:port`, for `new KafkaClient({ brokers: [brokers], clientId })` or `KAFKA_BROKERS`. */
  brokers: string;
  port: number;
  dataDir: string;
  /** The broker's process (the start script execs java), while it runs. */
  pid(): number | undefined;
  /** Starts it again on the same ports with the same data (after `stop` or `kill`). */
  start(): Promise<void>;
  /** Controlled shutdown (SIGTERM), waiting until the process has exited; the data stays. */
  stop(): Promise<void>;
  /** SIGKILL: as abrupt as a crash; the data stays (what was not fsynced may be lost). */
  kill(): Promise<void>;
  /** Stops the broker and removes its data directory. */
  close(): Promise<void>;
}

export interface KafkaOptions {
  /** Partitions of a topic created without a count (default 1). */
  numPartitions?: number;
  /** Broker log level on the broker's log file (default WARN). */
  logLevel?: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
  /** How long to wait for the broker to answer (default 60 s: a cold JVM on 2 busy cores). */
  startTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
// A test process that dies must not leave brokers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * True once a fresh admin client can connect, list topics and read a group's offsets. The last
 * step waits for the group coordinator: right after a restart it answers "coordinator is loading"
 * for a while (with one offsets partition, any group id probes the same coordinator; on a fresh
 * broker it creates the offsets topic).
 */
const answers = async (brokers: string): Promise<boolean> => {
  const kafka = new KafkaClient({
    brokers: [brokers],
    clientId: 'harness-probe',
    adminRetry: { retries: 0, retryDelayMs: 100, connectTimeoutMs: 1_000, requestTimeoutMs: 2_000 },
  });
  try {
    await kafka.probe();
    return true;
  } finally {
    await kafka.close().catch(() => undefined);
  }
};

const tail = (file: string, lines = 30): string => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
};

export const startKafka = async (options: KafkaOptions = {}): Promise<KafkaBroker> => {
  const root = mkdtempSync(join(tmpdir(), 'tollgate-kafka-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'broker.log');
  mkdirSync(dataDir);
  const port = await freePort();
  const controllerPort = await freePort();
  const brokers = `127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const log = openSync(logFile, 'a');
    const c = spawn('bash', [START_SCRIPT, String(port), dataDir], {
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        CONTROLLER_PORT: String(controllerPort),
        NUM_PARTITIONS: String(options.numPartitions ?? 1),
        KAFKA_LOG_LEVEL: options.logLevel ?? 'WARN',
      },
    });
    closeSync(log);
    child = c;
    running.add(c);
    let exited = false;
    c.once('exit', () => {
      exited = true;
      running.delete(c);
    });
    try {
      await waitFor(async () => exited || (await answers(brokers)), {
        timeoutMs: options.startTimeoutMs ?? 60_000,
        intervalMs: 100,
        what: `Kafka on ${brokers}`,
      });
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${tail(logFile)}`, { cause: err });
    }
    if (exited) {
      throw new Error(`Kafka exited with code ${String(c.exitCode)} before answering on ${brokers}:\n${tail(logFile)}`);
    }
  };

  const halt = async (signal: 'SIGTERM' | 'SIGKILL', timeoutMs: number) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };

  const stop = () => halt('SIGTERM', 30_000);
  const kill = () => halt('SIGKILL', 0);
  const close = async () => {
    await kill();
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (err) {
    await close();
    throw err;
  }
  const pid = () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined);
  return { brokers, port, dataDir, pid, start, stop, kill, close };
};
