import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { closeTestClickHouse, createTestSidecar, testConfig, uniqueSubject, type TestSidecar } from '@tollgate/testkit/sidecar-fixture';

/**
 * The fast path answers `POST /v1/authorize` on the node server; `app.request` goes through
 * the Hono route. Each request below is sent both ways: the answers must be the same.
 */
describe('POST /v1/authorize on the node server answers as the Hono route', () => {
  const store = new MemoryCreditStore({ restored: true });
  let sidecar: TestSidecar;
  let server: ServerType;
  let base: string;

  beforeAll(async () => {
    sidecar = await createTestSidecar({
      store,
      config: testConfig({ routes: [{ method: 'POST', path: '/payments', cost: 5, chargeOn: 'request', onStoreError: 'deny' }] }),
    });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: sidecar.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
        base = `http://127.0.0.1:${info.port}`;
        resolve();
      });
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await closeTestClickHouse();
  });

  const both = async (body: string | Uint8Array, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
    const init = { method: 'POST', headers, body };
    const viaHono = await sidecar.app.request('http://sidecar/v1/authorize', init);
    const viaServer = await fetch(`${base}/v1/authorize`, init);
    const answer = async (res: Response) => ({
      status: res.status,
      type: res.headers.get('content-type'),
      policy: res.headers.get('ratelimit-policy'),
      limit: res.headers.get('ratelimit'),
      body: (await res.json()) as Record<string, unknown>,
    });
    return { hono: await answer(viaHono), server: await answer(viaServer) };
  };

  it('allows and debits a funded call, then refuses with 429 once credits are gone', async () => {
    const subject = uniqueSubject();
    expect((await sidecar.topUp(subject, 10)).status).toBe(201);
    const first = await both(JSON.stringify({ subject, method: 'post', path: '/payments' }));
    expect(first.hono).toMatchObject({ status: 200, type: 'application/json', body: { allowed: true, cost: 5, balance: 5, decision: 'debited' } });
    expect(first.server).toEqual({ ...first.hono, policy: '"credits";q=5', limit: '"credits";r=0', body: { ...first.hono.body, balance: 0 } });
    const refused = await both(JSON.stringify({ subject, method: 'POST', path: '/payments' }));
    expect(refused.hono.status).toBe(429);
    expect(refused.server).toEqual(refused.hono);
  });

  it.each([
    ['a body that is not JSON', '{"subject":'],
    ['an empty body', ''],
    ['a JSON array', '[]'],
    ['an invalid subject', JSON.stringify({ subject: 'a b', method: 'GET', path: '/x' })],
    ['an invalid method', JSON.stringify({ subject: 'tpp-1', method: 'G ET', path: '/x' })],
    ['a path without a leading slash', JSON.stringify({ subject: 'tpp-1', method: 'GET', path: 'x' })],
  ])('answers %s with the same problem', async (_, body) => {
    const { hono, server: viaServer } = await both(body);
    expect(hono.status).toBe(400);
    expect(viaServer).toEqual(hono);
  });

  it('decodes a body with a byte-order mark as Request.text() does, like the route with a declared length', async () => {
    const subject = uniqueSubject();
    expect((await sidecar.topUp(subject, 2)).status).toBe(201);
    const json = Buffer.from(JSON.stringify({ subject, method: 'GET', path: '/accounts' }));
    const res = await fetch(`${base}/v1/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json]),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ balance: 1 });
  });

  it('leaves other media types and oversize bodies to the Hono route', async () => {
    const wrongType = await both('{}', { 'content-type': 'text/plain' });
    expect(wrongType.hono.status).toBe(415);
    expect(wrongType.server).toEqual(wrongType.hono);
    const large = await both(JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }));
    expect(large.hono.status).toBe(413);
    expect(large.server).toEqual(large.hono);
  });

  const fields = ['content-type', 'ratelimit-policy', 'ratelimit', 'x-tollgate-decision', 'x-tollgate-cost', 'x-tollgate-balance', 'x-tollgate-status', 'x-tollgate-problem'];
  const forwardBoth = async (headers: Record<string, string>) => {
    const answer = async (res: Response) => ({
      status: res.status,
      fields: Object.fromEntries(fields.map((name) => [name, res.headers.get(name)])),
      body: await res.text(),
    });
    const hono = await answer(await sidecar.app.request('http://sidecar/v1/authorize', { headers }));
    const viaServer = await answer(await fetch(`${base}/v1/authorize`, { headers }));
    return { hono, server: viaServer };
  };

  it('answers GET forward-auth as the route: allowed, refused, nginx mode, bad headers', async () => {
    const subject = uniqueSubject();
    expect((await sidecar.topUp(subject, 10)).status).toBe(201);
    const original = { 'x-original-method': 'POST', 'x-original-uri': '/payments?x=1' };
    const allowed = await forwardBoth({ 'x-tpp-id': subject, ...original });
    expect(allowed.hono).toMatchObject({ status: 200, fields: { 'x-tollgate-decision': 'debited', 'x-tollgate-cost': '5', 'x-tollgate-balance': '5' } });
    expect(allowed.server).toEqual({ ...allowed.hono, fields: { ...allowed.hono.fields, 'x-tollgate-balance': '0', ratelimit: '"credits";r=0', 'ratelimit-policy': '"credits";q=5' } });
    const refusals: Record<string, string>[] = [
      { 'x-tpp-id': subject, ...original },
      { 'x-tpp-id': subject, 'x-tollgate-auth-mode': 'nginx', ...original },
      { ...original },
      { 'x-tpp-id': subject, 'x-original-method': 'GET', 'x-forwarded-method': 'POST', 'x-original-uri': '/a' },
      { 'x-tpp-id': subject, 'x-tollgate-auth-mode': 'nginx' },
    ];
    for (const headers of refusals) {
      const both = await forwardBoth(headers);
      expect(both.hono.status).not.toBe(200);
      expect(both.server).toEqual(both.hono);
    }
  });
});
