import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

/**
 * A service started on a port that is in use stops with exit code 1 and one line on its output
 * that names the cause and the variable to change, not an unhandled EADDRINUSE and its stack.
 * The gateway's own case is in gateway-plugin/src/main.test.ts; `npm start` names SIDECAR_PORT
 * and the others itself.
 */
const ROOT = new URL('..', import.meta.url).pathname;
let dir: string;
let busy: Server;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-port-in-use-'));
  busy = createServer();
  // Every interface, so that a service on any address collides with it.
  await new Promise<void>((resolve) => busy.listen(0, resolve));
  const address = busy.address();
  port = typeof address === 'object' && address ? address.port : 0;
});
afterAll(async () => {
  await new Promise((resolve) => busy.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const run = (main: string, env: Record<string, string>, timeoutMs = 30_000) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, main)], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });

describe('a port in use', () => {
  it('quota-sidecar: one line naming the address and PORT, exit 1', async () => {
    const { code, output } = await run('quota-sidecar/src/main.ts', {
      PORT: String(port),
      CLICKHOUSE_DATA_DIR: join(dir, 'sidecar-chdb'),
      EVENT_LOG_DIR: join(dir, 'sidecar-log'),
      SPOOL_DIR: join(dir, 'sidecar-spool'),
      TOLLGATE_CONFIG: join(ROOT, 'testkit/src/no-routes.yaml'),
    });
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toEqual([`quota-sidecar: 127.0.0.1:${port} is in use by another process: stop it, or set PORT to a free port`]);
  });

  it('meter-sink: one line naming the port and PORT, exit 1', async () => {
    // Nothing listens on port 1: the sink keeps trying Kafka, but its health port fails first.
    const { code, output } = await run('meter-sink/src/main.ts', { PORT: String(port), KAFKA_BROKERS: '127.0.0.1:1', CLICKHOUSE_DATA_DIR: join(dir, 'sink-chdb') });
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toEqual([`meter-sink: port ${port} is in use by another process: stop it, or set PORT to a free port`]);
  });

  it('sync-worker: one line naming the port and PORT, exit 1', async () => {
    const { code, output } = await run('sync-worker/src/main.ts', { PORT: String(port), VALKEY_URL: inject('valkeyUrl'), CLICKHOUSE_DATA_DIR: join(dir, 'sync-chdb') });
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toEqual([`sync-worker: port ${port} is in use by another process: stop it, or set PORT to a free port`]);
  });
});
