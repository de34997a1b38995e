import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@tollgate/testkit/free-port';
import { waitFor } from '@tollgate/testkit/wait-for';
import { startSampleUpstream } from '@tollgate/sample-upstream';
import type { RunningServer } from '@tollgate/core/service';

const MAIN = new URL('./main.ts', import.meta.url).pathname;
const NO_ROUTES = new URL('../../testkit/src/no-routes.yaml', import.meta.url).pathname;

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const start = (env: Record<string, string>): Run => {
  let output = '';
  // An event log of its own: tests run side by side.
  const eventLogDir = mkdtempSync(join(tmpdir(), 'gateway-log-'));
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', EVENT_LOG_DIR: eventLogDir, TOLLGATE_CONFIG: NO_ROUTES, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
};

let upstream: RunningServer;
beforeAll(async () => {
  upstream = await startSampleUpstream();
});
afterAll(async () => {
  await upstream.close();
});

describe('gateway process', () => {
  it.each(['PORT', 'METRICS_PORT'])('exits 1 with one line naming the cause and %s when its port is in use', async (variable) => {
    const busy = await startSampleUpstream();
    try {
      const taken = String(new URL(busy.url).port);
      const free = String(await freePort());
      const ports = variable === 'PORT' ? { PORT: taken, METRICS_PORT: free } : { PORT: free, METRICS_PORT: taken };
      const run = start({ ...ports, UPSTREAM_URL: upstream.url, LOG_LEVEL: 'error' });
      expect(await run.exited).toBe(1);
      expect(run.output().trim().split('\n')).toEqual([`gateway: port ${taken} is in use by another process: stop it, or set ${variable} to a free port`]);
    } finally {
      await busy.close();
    }
  });

  it('exits 1 and names every configuration problem at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
    const config = join(dir, 'tollgate.yaml');
    writeFileSync(config, 'credits:\n  defaultCost: -1\nroutes:\n  - path: accounts\n');
    const run = start({ PORT: 'eighty', UPSTREAM_TIMEOUT_MS: '0', TOLLGATE_CONFIG: config });
    expect(await run.exited).toBe(1);
    const out = run.output();
    expect(out).toContain('PORT must be an integer');
    expect(out).toContain('UPSTREAM_TIMEOUT_MS must be an integer');
    expect(out).toContain('credits.defaultCost must be an integer');
    expect(out).toContain('routes[0].path must start with /');
  });

  it('refuses to start without TOLLGATE_CONFIG: one line naming it, exit 1', async () => {
    const run = start({ PORT: String(await freePort()), UPSTREAM_URL: upstream.url, TOLLGATE_CONFIG: '' });
    expect(await run.exited).toBe(1);
    const lines = run.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^gateway: invalid configuration: TOLLGATE_CONFIG is required: the gateway prices calls/);
  });

  it('requires UPSTREAM_URL, and a key for JWT subjects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
    const config = join(dir, 'tollgate.yaml');
    writeFileSync(config, 'subject:\n  jwt:\n    claims: [client_id]\n');
    const run = start({ TOLLGATE_CONFIG: config });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('UPSTREAM_URL is required');
    expect(run.output()).toContain('subject.jwt needs subject.jwt.jwksUrl in TOLLGATE_CONFIG or JWT_SECRET');
  });

  it('serves, proxies, shows /metrics only on METRICS_PORT, and stops cleanly on SIGTERM', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const run = start({ PORT: String(port), METRICS_PORT: String(metricsPort), UPSTREAM_URL: upstream.url, LOG_LEVEL: 'info' });
    try {
      const url = `http://127.0.0.1:${port}`;
      // A busy machine takes seconds to start a process that opens an embedded ClickHouse.
      await waitFor(async () => (await fetch(`${url}/healthz`)).ok, { timeoutMs: 30_000, what: 'the gateway to listen' });
      expect((await fetch(`${url}/accounts`)).status).toBe(401);
      expect((await fetch(`${url}/accounts`, { headers: { 'x-tpp-id': 'tpp-1' } })).status).toBe(429);
      // The port TPPs call charges /metrics like any call; the counters are on METRICS_PORT.
      const onTppPort = await fetch(`${url}/metrics`);
      expect(onTppPort.status).toBe(401);
      expect(await onTppPort.text()).not.toContain('tollgate_');
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('tollgate_credit_decisions_total');
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(run.output()).toContain('"msg":"stopped"');
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
