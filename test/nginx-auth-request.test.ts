import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnSidecar, type SidecarProcess } from '@tollgate/testkit/sidecar-process';
import { freePort } from '@tollgate/testkit/free-port';
import { renderRepoTemplate, startNginx, type NginxServer } from '@tollgate/testkit/nginx';

const ADMIN_TOKEN = 'nginx-test-admin-token';
const AUTHORIZE_TOKEN = 'nginx-test-authorize-token';
// A generous store budget: a slow moment of a loaded machine must not pass for a store outage (503).
const TOLLGATE_CONFIG = `
credits: { storeTimeoutMs: 2000 }
routes:
  - { method: GET, path: /status, cost: 0 }
  - { method: POST, path: /payments, cost: 2 }
`;

interface UpstreamCall {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A tiny API behind the gate that records what reaches it. */
const startUpstream = async (port: number) => {
  const calls: UpstreamCall[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, path: req.url }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
};

describe('nginx auth_request → quota sidecar → upstream', () => {
  let dir: string;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let sidecar: SidecarProcess;
  let nginx: NginxServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-nginx-test-'));
    writeFileSync(join(dir, 'tollgate.yaml'), TOLLGATE_CONFIG);
    const [upstreamPort, sidecarPort, nginxPort] = [await freePort(), await freePort(), await freePort()];
    upstream = await startUpstream(upstreamPort);
    sidecar = await spawnSidecar({
      PORT: String(sidecarPort),
      VALKEY_URL: inject('valkeyUrl'),
      CLICKHOUSE_DATA_DIR: join(dir, 'chdb'),
      ADMIN_TOKENS: ADMIN_TOKEN,
      AUTHORIZE_TOKENS: AUTHORIZE_TOKEN,
      TOLLGATE_CONFIG: join(dir, 'tollgate.yaml'),
      LOG_LEVEL: 'warn',
    });
    const site = renderRepoTemplate('deploy/nginx/tollgate-auth-request.conf', {
      TOLLGATE_LISTEN: `127.0.0.1:${nginxPort}`,
      TOLLGATE_SIDECAR: `127.0.0.1:${sidecarPort}`,
      TOLLGATE_UPSTREAM: `127.0.0.1:${upstreamPort}`,
      TOLLGATE_AUTHORIZE_TOKEN: AUTHORIZE_TOKEN,
    });
    nginx = await startNginx({ site, port: nginxPort });
  });

  afterAll(async () => {
    await nginx?.stop();
    await sidecar?.stop('SIGKILL');
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const topUp = async (subject: string, amount: number) => {
    const res = await fetch(`${sidecar.url}/admin/v1/subjects/${subject}/credits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ amount, reason: 'nginx test' }),
    });
    expect(res.status).toBe(201);
  };
  const callsFor = (subject: string) => upstream.calls.filter((c) => c.headers['x-tpp-id'] === subject);

  it('lets a TPP with 3 credits make 3 calls, then answers 429 problem+json without reaching the upstream', async () => {
    const subject = `tpp-${randomUUID()}`;
    await topUp(subject, 3);
    for (const remaining of [2, 1, 0]) {
      const res = await fetch(`${nginx.url}/accounts?page=1`, { headers: { 'x-tpp-id': subject } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true, path: '/accounts?page=1' });
      expect(res.headers.get('ratelimit')).toBe(`"credits";r=${remaining}`);
      expect(res.headers.get('ratelimit-policy')).toBe(`"credits";q=${remaining + 1}`);
    }
    const denied = await fetch(`${nginx.url}/accounts?page=1`, { headers: { 'x-tpp-id': subject } });
    expect(denied.status).toBe(429);
    expect(denied.headers.get('content-type')).toBe('application/problem+json');
    expect(denied.headers.get('ratelimit')).toBe('"credits";r=0');
    expect(await denied.json()).toMatchObject({ status: 429, code: 'INSUFFICIENT_CREDITS', balance: 0, cost: 1 });
    expect(callsFor(subject)).toHaveLength(3);
    expect(callsFor(subject).map((c) => c.headers['x-tollgate-decision'])).toEqual(['debited', 'debited', 'debited']);
    expect(nginx.errorLog()).not.toMatch(/auth request unexpected status/);
  });

  it('prices by route and passes the request body to the upstream', async () => {
    const subject = `tpp-${randomUUID()}`;
    await topUp(subject, 3);
    const pay = await fetch(`${nginx.url}/payments`, {
      method: 'POST',
      headers: { 'x-tpp-id': subject, 'content-type': 'application/json' },
      body: '{"amount":"10.00"}',
    });
    expect(pay.status).toBe(200);
    expect(pay.headers.get('ratelimit')).toBe('"credits";r=1');
    expect(callsFor(subject)[0]).toMatchObject({ method: 'POST', url: '/payments', body: '{"amount":"10.00"}' });

    const free = await fetch(`${nginx.url}/status`, { headers: { 'x-tpp-id': subject } });
    expect(free.status).toBe(200);
    expect(free.headers.get('ratelimit')).toBe('"credits";r=1');
    const tooDear = await fetch(`${nginx.url}/payments`, { method: 'POST', headers: { 'x-tpp-id': subject }, body: '{}' });
    expect(tooDear.status).toBe(429);
    expect(await tooDear.json()).toMatchObject({ balance: 1, cost: 2 });
  });

  it('does not let a client choose its price with its own X-Original-URI or X-Tollgate-Decision', async () => {
    const subject = `tpp-${randomUUID()}`;
    await topUp(subject, 1);
    const headers = { 'x-tpp-id': subject, 'x-original-uri': '/status', 'x-original-method': 'GET', 'x-tollgate-decision': 'free' };
    const first = await fetch(`${nginx.url}/accounts`, { headers });
    expect(first.status).toBe(200);
    expect(callsFor(subject)[0]?.headers['x-tollgate-decision']).toBe('debited');
    expect((await fetch(`${nginx.url}/accounts`, { headers })).status).toBe(429);
  });

  it("sends the sidecar's credential, which the upstream never sees; the sidecar refuses calls without it", async () => {
    const subject = `tpp-${randomUUID()}`;
    await topUp(subject, 2);
    expect((await fetch(`${nginx.url}/accounts`, { headers: { 'x-tpp-id': subject } })).status).toBe(200);
    expect(callsFor(subject)[0]?.headers['tollgate-authorize-token']).toBeUndefined();
    const bare = await fetch(`${sidecar.url}/v1/authorize`, { headers: { 'x-tpp-id': subject, 'x-original-method': 'GET', 'x-original-uri': '/accounts' } });
    expect(bare.status).toBe(401);
    const balance = await fetch(`${sidecar.url}/admin/v1/subjects/${subject}/balance`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await balance.json()).toMatchObject({ balance: 1 });
  });

  it('answers 401 problem+json without a TPP id', async () => {
    const before = upstream.calls.length;
    for (const headers of [{}, { 'x-tpp-id': 'not a valid id' }]) {
      const res = await fetch(`${nginx.url}/accounts`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    expect(upstream.calls.length).toBe(before);
  });

  it('fails closed with 503 problem+json once the sidecar is gone, after a graceful stop', async () => {
    const subject = `tpp-${randomUUID()}`;
    await topUp(subject, 5);
    expect(await sidecar.stop('SIGTERM')).toBe(0);
    const res = await fetch(`${nginx.url}/accounts`, { headers: { 'x-tpp-id': subject } });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    expect(callsFor(subject)).toHaveLength(0);
  });
});
