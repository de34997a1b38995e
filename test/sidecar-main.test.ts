import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSidecar } from '@tollgate/testkit/sidecar-process';
import { freePort } from '@tollgate/testkit/free-port';

/** The sidecar's main.ts as a process: configuration errors, start-up warnings, readiness and graceful stop. */
describe('quota-sidecar main', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-sidecar-main-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports every configuration problem at once and exits 1', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'credits:\n  defaultCost: -1\n  onStoreError: maybe\n');
    const sidecar = await spawnSidecar(
      { PORT: 'eighty', VALKEY_URL: 'http://valkey:6379', LOG_LEVEL: 'loud', TOLLGATE_CONFIG: config },
      { waitReady: false },
    );
    expect(await sidecar.exited).toBe(1);
    const output = sidecar.output();
    for (const name of ['PORT', 'VALKEY_URL', 'LOG_LEVEL', 'credits.defaultCost', 'credits.onStoreError']) expect(output).toContain(name);
    expect(output.trim().split('\n')).toHaveLength(1);
  });

  it('refuses to start without TOLLGATE_CONFIG: one line naming it, exit 1', async () => {
    const sidecar = await spawnSidecar({ PORT: String(await freePort()), TOLLGATE_CONFIG: '', CLICKHOUSE_DATA_DIR: join(dir, 'chdb-none') }, { waitReady: false });
    expect(await sidecar.exited).toBe(1);
    const lines = sidecar.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^quota-sidecar: invalid configuration: TOLLGATE_CONFIG is required: the quota-sidecar prices calls/);
  });

  it('warns when ADMIN_TOKENS is empty, serves health, refuses admin, and stops gracefully on SIGTERM', async () => {
    const port = await freePort();
    const sidecar = await spawnSidecar({ PORT: String(port), CLICKHOUSE_DATA_DIR: join(dir, 'chdb'), LOG_LEVEL: 'info' });
    try {
      expect(sidecar.output()).toMatch(/"level":"warn".*ADMIN_TOKENS is empty/);
      expect((await fetch(`${sidecar.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${sidecar.url}/readyz`)).json()).toEqual({ status: 'ready', checks: { store: true, dependencies: true, events: { backlog: 0 } } });
      const admin = await fetch(`${sidecar.url}/admin/v1/subjects/tpp-1/balance`, { headers: { authorization: 'Bearer anything' } });
      expect(admin.status).toBe(401);
      expect(await (await fetch(`${sidecar.url}/metrics`)).text()).toContain('tollgate_http_requests_total');
    } finally {
      expect(await sidecar.stop('SIGTERM')).toBe(0);
    }
    expect(sidecar.output()).toContain('"msg":"stopped"');
  });

  it('refuses to listen on every interface without AUTHORIZE_TOKENS: one line naming it, exit 1', async () => {
    const sidecar = await spawnSidecar({ PORT: String(await freePort()), LISTEN_HOST: '0.0.0.0', CLICKHOUSE_DATA_DIR: join(dir, 'chdb-open') }, { waitReady: false });
    expect(await sidecar.exited).toBe(1);
    const lines = sidecar.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('AUTHORIZE_TOKENS is required when LISTEN_HOST (0.0.0.0) is not a loopback address');
  });

  it('listens on loopback by default, and asks for the authorize credential when it has tokens', async () => {
    const port = await freePort();
    const sidecar = await spawnSidecar({ PORT: String(port), AUTHORIZE_TOKENS: 'secret-authorize-token', CLICKHOUSE_DATA_DIR: join(dir, 'chdb-loopback'), LOG_LEVEL: 'info' });
    try {
      expect(sidecar.output()).toMatch(/"msg":"listening".*"address":"127\.0\.0\.1"/);
      const ask = (token?: string) =>
        fetch(`${sidecar.url}/v1/authorize`, {
          headers: { 'x-tpp-id': 'tpp-1', 'x-original-method': 'GET', 'x-original-uri': '/accounts', ...(token ? { 'tollgate-authorize-token': token } : {}) },
        });
      expect((await ask()).status).toBe(401);
      // With the credential, the call is decided: no credits, 429.
      expect((await ask('secret-authorize-token')).status).toBe(429);
    } finally {
      expect(await sidecar.stop('SIGTERM')).toBe(0);
    }
  });
});
