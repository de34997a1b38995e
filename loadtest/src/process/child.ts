import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage } from '../servers/announce.ts';

/** Scratch space of the benchmarks (git-ignored): server logs and CPU profiles. */
export const scratchDir = fileURLToPath(new URL('../../.tmp/', import.meta.url));

/** A server running in its own Node process, listening on loopback. */
export interface ServerChild {
  name: string;
  pid: number;
  /** Pids of the processes that serve the port besides `pid` (a server with several workers). */
  workers: number[];
  port: number;
  url: string;
  logFile: string;
  /** Counters the server keeps (events emitted, balance, …). */
  stats(): Promise<Record<string, number>>;
  /** Starts CPU profiling inside the server. */
  profileStart(): Promise<void>;
  /** Stops profiling and writes the .cpuprofile to `file`. */
  profileStop(file: string): Promise<void>;
  /** Asks the server to exit cleanly; kills it if it does not. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// Whatever ends the scenario (an error, Ctrl-C), no server outlives it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}

const logTail = (file: string) => {
  try {
    return readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
};

export interface StartOptions {
  env?: Record<string, string>;
  /** Extra Node flags for the child, e.g. `--cpu-prof`. */
  execArgv?: string[];
  timeoutMs?: number;
}

/**
 * Forks `entry` with this process's Node binary and waits until it reports its port.
 * Its stdout and stderr go to a log file under the scratch directory.
 */
export const startServerChild = async (
  name: string,
  entry: URL,
  { env = {}, execArgv = [], timeoutMs = 15_000 }: StartOptions = {},
): Promise<ServerChild> => {
  mkdirSync(scratchDir, { recursive: true });
  const logFile = join(scratchDir, `${name}.log`);
  const log = openSync(logFile, 'w');
  const child = fork(fileURLToPath(entry), [], {
    execArgv,
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));

  let timer: NodeJS.Timeout | undefined;
  let workers: number[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms\n${logTail(logFile)}`)), timeoutMs);
    child.on('message', (m: ChildMessage) => {
      if (m.type !== 'ready') return;
      workers = m.workers ?? [];
      resolve(m.port);
    });
    child.once('exit', (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before it listened\n${logTail(logFile)}`)));
  }).finally(() => clearTimeout(timer));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name} has no pid`);

  const send = (m: ParentMessage) => child.send(m);
  /** Sends `request` and resolves with the first answer of type `answer`. */
  const ask = <T extends ChildMessage['type']>(request: ParentMessage, answer: T): Promise<Extract<ChildMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`${name} has exited\n${logTail(logFile)}`));
      const onMessage = (m: ChildMessage) => {
        if (m.type !== answer) return;
        child.off('message', onMessage);
        resolve(m as Extract<ChildMessage, { type: T }>);
      };
      child.on('message', onMessage);
      send(request);
    });
  return {
    name,
    pid,
    workers,
    port,
    url: `http://127.0.0.1:${port}`,
    logFile,
    stats: async () => (await ask({ type: 'stats' }, 'stats')).stats,
    profileStart: async () => {
      await ask({ type: 'profile-start' }, 'profiling');
    },
    profileStop: async (file) => {
      await ask({ type: 'profile-stop', file }, 'profiled');
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      send({ type: 'stop' });
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
};

/**
 * How a scenario starts its servers: an entry of `loadtest/src/servers/` as a child, added to
 * `started` (which the scenario stops at the end, newest first) and logged with its pid and URL.
 */
export const serverStarter =
  (started: ServerChild[], log: (line: string) => void) =>
  async (name: string, entry: string, options: StartOptions = {}): Promise<ServerChild> => {
    const child = await startServerChild(name, new URL(`../servers/${entry}`, import.meta.url), options);
    started.push(child);
    log(`${name}: pid ${child.pid} on ${child.url}`);
    return child;
  };
