import { spawn } from 'node:child_process';
import { waitFor } from './wait-for.ts';

/** A service run as a real process, with its stdout and stderr kept apart. */
export interface ServiceProcess {
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /**
   * Sends `signal` to the process and resolves with its exit code; then kills whatever it left
   * in its process group (a script npm started, should it outlive npm).
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const root = new URL('../..', import.meta.url).pathname;

/**
 * Spawns `command args` in the repository root with exactly `env` (plus PATH and HOME), in a
 * process group of its own so that `stop` reaches every process it started.
 */
export const spawnService = (command: string, args: string[], env: Record<string, string>): ServiceProcess => {
  const child = spawn(command, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid ?? -1;
  return {
    pid,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // The group is empty: nothing was left behind.
      }
      return code;
    },
  };
};

/** Waits until `url` answers 200, failing early (with the output) if the process exits. */
export const untilReady = async (service: ServiceProcess, url: string, timeoutMs = 60_000): Promise<void> => {
  let exit: number | null | undefined;
  void service.exited.then((code) => (exit = code));
  await waitFor(
    async () => {
      if (exit !== undefined) throw new Error(`exited with ${exit}:\n${service.stdout()}\n${service.stderr()}`);
      return (await fetch(url)).status === 200;
    },
    { timeoutMs, intervalMs: 100, what: `${url} to answer 200` },
  );
};
