import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { freePort } from './free-port.ts';
import { waitFor } from './wait-for.ts';

const INSTALL_HINT =
  'valkey-server is not installed: run `sudo bash deploy/scripts/install-system-deps.sh` ' +
  '(Valkey 8 from bookworm-backports), or set VALKEY_URL to a running Valkey';

/** A real Valkey server on a free loopback port, owned by the test that started it. */
export interface ValkeyServer {
  url: string;
  port: number;
  /** Stops the server (SIGKILL: as abrupt as a crash). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty: a restart without persistence (the restored marker is gone too). */
  start(): Promise<void>;
}

/**
 * Runs a restore with nothing to restore on the Valkey at `url`: the state of a deployment
 * whose sync worker restored an empty store. Without it every debit is refused as not restored.
 */
export const markRestored = async (url: string): Promise<void> => {
  const store = new ValkeyCreditStore({ url });
  try {
    await store.connected();
    if (!(await store.completeRestore(await store.beginRestore())) && !(await store.restoreStatus()).restored) {
      throw new Error(`could not mark the Valkey at ${url} restored`);
    }
  } finally {
    await store.close();
  }
};

const binary = (): string => {
  for (const name of ['valkey-server', 'redis-server']) {
    if (spawnSync('sh', ['-c', `command -v ${name}`]).status === 0) return name;
  }
  throw new Error(INSTALL_HINT);
};

const answersPing = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });

/** `restored` (default true): the new server holds restored state, as after its sync worker's first restore. */
export const startValkey = async ({ restored = true }: { restored?: boolean } = {}): Promise<ValkeyServer> => {
  const bin = binary();
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
      stdio: 'ignore',
    });
    await waitFor(() => answersPing(port), { what: `valkey on port ${port}` });
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  const url = `redis://127.0.0.1:${port}`;
  if (restored) await markRestored(url);
  return { url, port, start, stop };
};
