import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../quota-sidecar/src/main.ts', import.meta.url));
const NO_ROUTES = fileURLToPath(new URL('./no-routes.yaml', import.meta.url));

/** The sidecar's main.ts as a child process, as it runs in production. */
export interface SidecarProcess {
  url: string;
  pid: number;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM: graceful) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns main.ts with exactly `env` (plus PATH, an event log directory of its own unless `env`
 * names one, and the configuration without routes unless `env` names TOLLGATE_CONFIG) and resolves once it is started; `waitReady` also waits for /readyz 200.
 */
export const spawnSidecar = async (env: Record<string, string>, { waitReady = true, timeoutMs = 20_000 } = {}): Promise<SidecarProcess> => {
  const eventLogDir = mkdtempSync(join(tmpdir(), 'tollgate-sidecar-log-'));
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', EVENT_LOG_DIR: eventLogDir, TOLLGATE_CONFIG: NO_ROUTES, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${env.PORT ?? '8080'}`;
  const sidecar: SidecarProcess = {
    url,
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (!waitReady) return sidecar;

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the sidecar exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) return sidecar;
    if (Date.now() > deadline) {
      await sidecar.stop('SIGKILL');
      throw new Error(`the sidecar was not ready within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
};
