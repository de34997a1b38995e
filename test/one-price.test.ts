import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTollgateConfig } from '@tollgate/core/config';
import { serveApp, type RunningServer } from '@tollgate/core/service';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { InProcessBus } from '@tollgate/core/events';
import { createGatewayApp, type ClosableApp } from '@tollgate/gateway-plugin';
import { closeTestClickHouse, createTestSidecar, uniqueSubject, type TestSidecar } from '@tollgate/testkit/sidecar-fixture';

/**
 * One request, one price: the gateway and the sidecar (forward-auth and JSON) charge the same
 * for the same request target, however it is spelled, and the gateway forwards exactly the
 * path it priced. Prices from deploy/config/tollgate.yaml: transactions 3, payments 10,
 * anything without a rule 1.
 */
const config = loadTollgateConfig(new URL('../deploy/config/tollgate.yaml', import.meta.url).pathname);
const FUNDS = 100;

let upstream: Server;
let upstreamUrl: string;
const received: string[] = [];
const overrides: (string | undefined)[] = [];
let gatewayStore: MemoryCreditStore;
let gatewayApp: ClosableApp;
let gateway: RunningServer;
let sidecar: TestSidecar;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    received.push(req.url ?? '');
    const override = ['x-http-method-override', 'x-http-method', 'x-method-override'].find((name) => req.headers[name] !== undefined);
    overrides.push(override && `${req.method} ${override}`);
    res.end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gatewayStore = new MemoryCreditStore({ restored: true });
  gatewayApp = createGatewayApp({ store: gatewayStore, emitter: new InProcessBus(), config, upstreamUrl, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  gateway = await serveApp(gatewayApp);
  sidecar = await createTestSidecar({ store: new MemoryCreditStore({ restored: true }), config });
});
afterAll(async () => {
  await gateway?.close();
  await gatewayApp?.close();
  await new Promise((resolve) => upstream?.close(resolve));
  await closeTestClickHouse();
});

/** Sends `target` exactly as written (no client-side URL normalisation). */
const send = (method: string, target: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const { port } = new URL(gateway.url);
    const req = httpRequest({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });

const funded = async () => {
  const subject = uniqueSubject();
  await gatewayStore.applyGrant(subject, 'k', 'h', FUNDS);
  expect((await sidecar.topUp(subject, FUNDS)).status).toBe(201);
  return subject;
};

/** What each of the three charged for the request: the credits it took. */
const charged = async (method: string, target: string) => {
  const subject = await funded();
  const status = await send(method, target, { 'x-tpp-id': subject });
  const viaGateway = FUNDS - (await gatewayStore.balance(subject));
  const forward = await sidecar.app.request('http://sidecar/v1/authorize', {
    headers: { 'x-tpp-id': subject, 'x-original-method': method, 'x-original-uri': target },
  });
  const json = await sidecar.app.request('http://sidecar/v1/authorize', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject, method, path: target }),
  });
  const viaSidecar = FUNDS - (await sidecar.balance(subject));
  return { status, gateway: viaGateway, sidecar: viaSidecar, forward: forward.status, json: json.status };
};

describe('one request, one price', () => {
  it.each([
    ['GET', '/accounts/1/transactions', 3, '/accounts/1/transactions'],
    ['HEAD', '/accounts/1/transactions', 3, '/accounts/1/transactions'],
    ['GET', '//accounts/1/transactions', 3, '/accounts/1/transactions'],
    ['GET', '/accounts//1/transactions?x=1', 3, '/accounts/1/transactions?x=1'],
    ['GET', '/accounts/1/transactions/', 3, '/accounts/1/transactions/'],
    ['GET', '/accounts/x/../1/transactions', 3, '/accounts/1/transactions'],
    ['GET', '/accounts/1/%2e%2e/1/transactions', 3, '/accounts/1/transactions'],
    ['GET', '/%61ccounts/1/./transactions', 3, '/accounts/1/transactions'],
    ['POST', '//payments', 10, '/payments'],
    ['POST', '/payments?amount=1', 10, '/payments?amount=1'],
    ['GET', '/accounts', 1, '/accounts'],
    // Routes match without regard to case, as case-insensitive upstreams route them.
    ['POST', '/PAYMENTS', 10, '/PAYMENTS'],
    ['GET', '/Accounts/1/%54ransactions', 3, '/Accounts/1/Transactions'],
  ])('%s %s costs %i everywhere, and the upstream is asked for %s', async (method, target, cost, forwarded) => {
    const before = received.length;
    // The sidecar is asked twice (forward-auth, then JSON): it charges twice the price.
    expect(await charged(method, target)).toEqual({ status: 200, gateway: cost, sidecar: 2 * cost, forward: 200, json: 200 });
    expect(received.slice(before)).toEqual([forwarded]);
  });

  it('prices an absolute-form request target by its path, and forwards only the path', async () => {
    const subject = await funded();
    const before = received.length;
    expect(await send('GET', 'http://elsewhere.example/accounts/1/transactions', { 'x-tpp-id': subject })).toBe(200);
    expect(FUNDS - (await gatewayStore.balance(subject))).toBe(3);
    expect(received.slice(before)).toEqual(['/accounts/1/transactions']);
  });

  it('does not let the upstream be told to run another method than the one priced', async () => {
    const subject = await funded();
    const before = overrides.length;
    for (const name of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
      expect(await send('GET', '/payments', { 'x-tpp-id': subject, [name]: 'POST' })).toBe(200);
    }
    expect(FUNDS - (await gatewayStore.balance(subject))).toBe(3);
    expect(overrides.slice(before)).toEqual([undefined, undefined, undefined]);
  });

  it.each([
    ['an encoded slash', '/accounts/1%2Ftransactions'],
    ['an encoded backslash', '/accounts/1%5Ctransactions'],
    ['an encoded NUL', '/payments%00'],
    ['a path parameter (servlet containers route /payments;x as /payments)', '/payments;jsessionid=1'],
  ])('refuses a path with %s with 400 everywhere, charging nothing and forwarding nothing', async (_name, target) => {
    const before = received.length;
    expect(await charged('GET', target)).toEqual({ status: 400, gateway: 0, sidecar: 0, forward: 400, json: 400 });
    expect(received.length).toBe(before);
  });
});
