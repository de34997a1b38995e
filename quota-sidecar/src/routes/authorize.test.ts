import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CreditStore } from '@tollgate/core/credits';
import { closeTestClickHouse, createTestSidecar, openStore, testConfig, uniqueSubject, type StoreKind, type TestSidecar } from '@tollgate/testkit/sidecar-fixture';

// A generous store budget: a slow moment of a loaded machine must not pass for a store outage (503).
const config = testConfig({
  credits: { ...testConfig().credits, storeTimeoutMs: 2_000 },
  routes: [
    { method: 'POST', path: '/payments', cost: 5, chargeOn: 'request', onStoreError: 'deny' },
    { method: 'GET', path: '/status', cost: 0, chargeOn: 'request', onStoreError: 'deny' },
  ],
});

const PROBLEM = 'application/problem+json';

afterAll(closeTestClickHouse);

describe.each<StoreKind>(['valkey', 'memory'])('authorize with the %s store', (kind) => {
  let store: CreditStore;
  let sidecar: TestSidecar;

  beforeAll(async () => {
    store = await openStore(kind, inject('valkeyUrl'));
    sidecar = await createTestSidecar({ store, config });
  });
  afterAll(async () => {
    await store.close();
  });

  const funded = async (amount: number) => {
    const subject = uniqueSubject();
    expect((await sidecar.topUp(subject, amount)).status).toBe(201);
    return subject;
  };
  const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    sidecar.app.request('http://sidecar/v1/authorize', { method: 'POST', headers, body: JSON.stringify(body) });
  const forward = (headers: Record<string, string>, path = '/v1/authorize', method = 'GET') =>
    sidecar.app.request(`http://sidecar${path}`, { method, headers });

  describe('POST /v1/authorize', () => {
    it('debits each call while credits last, then answers 429 problem+json with balance and cost', async () => {
      const subject = await funded(3);
      for (const balance of [2, 1, 0]) {
        const res = await post({ subject, method: 'GET', path: '/accounts' });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ allowed: true, cost: 1, balance, decision: 'debited' });
        expect(res.headers.get('ratelimit-policy')).toBe(`"credits";q=${balance + 1}`);
        expect(res.headers.get('ratelimit')).toBe(`"credits";r=${balance}`);
      }
      const denied = await post({ subject, method: 'GET', path: '/accounts' });
      expect(denied.status).toBe(429);
      expect(denied.headers.get('content-type')).toBe(PROBLEM);
      expect(denied.headers.get('ratelimit')).toBe('"credits";r=0');
      expect(await denied.json()).toMatchObject({ status: 429, code: 'INSUFFICIENT_CREDITS', balance: 0, cost: 1 });
      expect(await store.balance(subject)).toBe(0);
    });

    it('prices by the route rules on the normalised path, and never debits a call it denies', async () => {
      const subject = await funded(7);
      const pay = await post({ subject, method: 'post', path: '/%70ayments?amount=10' });
      expect(await pay.json()).toEqual({ allowed: true, cost: 5, balance: 2, decision: 'debited' });
      const short = await post({ subject, method: 'POST', path: '/accounts/../payments' });
      expect(short.status).toBe(429);
      expect(await short.json()).toMatchObject({ balance: 2, cost: 5 });
      expect(await store.balance(subject)).toBe(2);
    });

    it('answers a cost-0 route as free without debiting, even with no credits', async () => {
      const subject = uniqueSubject();
      const res = await post({ subject, method: 'GET', path: '/status' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ allowed: true, cost: 0, balance: 0, decision: 'free' });
      expect(res.headers.get('ratelimit')).toBe('"credits";r=0');
    });

    it.each([
      ['a subject outside the pattern', { subject: 'tpp 1', method: 'GET', path: '/a' }, 400],
      ['no subject', { method: 'GET', path: '/a' }, 400],
      ['a method that is no token', { subject: 'tpp-1', method: 'GE T', path: '/a' }, 400],
      ['a path without a leading slash', { subject: 'tpp-1', method: 'GET', path: 'a' }, 400],
      ['an array body', [], 400],
    ])('refuses %s with a 4xx problem', async (_name, body, status) => {
      const res = await post(body);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe(PROBLEM);
    });

    it('refuses malformed JSON (400) and another content type (415)', async () => {
      const malformed = await sidecar.app.request('http://sidecar/v1/authorize', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"subject":',
      });
      expect(malformed.status).toBe(400);
      const text = await post({ subject: 'tpp-1', method: 'GET', path: '/a' }, { 'content-type': 'text/plain' });
      expect(text.status).toBe(415);
      expect(text.headers.get('content-type')).toBe(PROBLEM);
    });
  });

  describe('GET /v1/authorize (forward authorisation)', () => {
    it('allows with 200, an empty body and the RateLimit fields, then refuses with 429 problem+json', async () => {
      const subject = await funded(2);
      const headers = { 'x-tpp-id': subject, 'x-original-method': 'GET', 'x-original-uri': '/accounts?page=2' };
      for (const balance of [1, 0]) {
        const res = await forward(headers);
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('');
        expect(res.headers.get('x-tollgate-decision')).toBe('debited');
        expect(res.headers.get('x-tollgate-balance')).toBe(String(balance));
        expect(res.headers.get('ratelimit')).toBe(`"credits";r=${balance}`);
      }
      const denied = await forward(headers);
      expect(denied.status).toBe(429);
      expect(denied.headers.get('content-type')).toBe(PROBLEM);
      expect(denied.headers.get('x-tollgate-decision')).toBe('insufficient-credits');
      expect(await denied.json()).toMatchObject({ code: 'INSUFFICIENT_CREDITS', balance: 0, cost: 1 });
    });

    it('answers 401 without a valid subject header', async () => {
      for (const subject of [undefined, '', 'tpp/1']) {
        const headers: Record<string, string> = { 'x-original-method': 'GET', 'x-original-uri': '/accounts' };
        if (subject !== undefined) headers['x-tpp-id'] = subject;
        const res = await forward(headers);
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toBe(PROBLEM);
      }
    });

    it('answers 400 when the original request is not named', async () => {
      const res = await forward({ 'x-tpp-id': uniqueSubject() });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'BAD_REQUEST' });
    });

    it("reads Envoy's and Traefik's headers", async () => {
      const subject = await funded(10);
      const envoy = await forward({ 'x-tpp-id': subject, 'x-forwarded-method': 'POST', 'x-envoy-original-path': '/payments' });
      expect(envoy.headers.get('x-tollgate-cost')).toBe('5');
      const traefik = await forward({ 'x-tpp-id': subject, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/accounts' });
      expect(traefik.headers.get('x-tollgate-cost')).toBe('1');
      expect(await store.balance(subject)).toBe(4);
    });

    it('refuses headers that disagree about the original request, so a client cannot pick its price', async () => {
      const subject = await funded(10);
      const traefikWithClientHeader = {
        'x-tpp-id': subject,
        'x-forwarded-method': 'POST',
        'x-forwarded-uri': '/payments',
        'x-original-uri': '/status',
      };
      const res = await forward(traefikWithClientHeader);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'BAD_REQUEST' });
      const methods = await forward({ 'x-tpp-id': subject, 'x-original-method': 'GET', 'x-forwarded-method': 'POST', 'x-original-uri': '/a' });
      expect(methods.status).toBe(400);
      const agreeing = await forward({ 'x-tpp-id': subject, 'x-original-method': 'get', 'x-forwarded-method': 'GET', 'x-original-uri': '/%70ayments', 'x-forwarded-uri': '/payments?x' });
      expect(agreeing.status).toBe(200);
      expect(await store.balance(subject)).toBe(9);
    });

    it("takes the original method and path from Envoy ext_authz's path-prefix form", async () => {
      const subject = await funded(6);
      const res = await forward({ 'x-tpp-id': subject }, '/v1/authorize/payments?x=1', 'POST');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-tollgate-cost')).toBe('5');
      expect(res.headers.get('x-tollgate-balance')).toBe('1');
      expect((await forward({ 'x-tpp-id': subject }, '/v1/authorize', 'DELETE')).status).toBe(404);
    });

    it("refuses a client's own original-request headers that disagree with Envoy's path-prefix form", async () => {
      const subject = await funded(6);
      const clientHeaders: Record<string, string>[] = [{ 'x-original-uri': '/status' }, { 'x-forwarded-method': 'GET' }, { 'x-original-method': 'GET', 'x-original-uri': '/status' }];
      for (const headers of clientHeaders) {
        const res = await forward({ 'x-tpp-id': subject, ...headers }, '/v1/authorize/payments', 'POST');
        expect(res.status).toBe(400);
      }
      // Headers that agree with it are fine.
      expect((await forward({ 'x-tpp-id': subject, 'x-forwarded-method': 'POST' }, '/v1/authorize/payments', 'POST')).status).toBe(200);
      expect(await store.balance(subject)).toBe(1);
    });

    it('answers every refusal as 403 naming the status and carrying the problem when asked in nginx mode', async () => {
      const subject = uniqueSubject();
      const res = await forward({
        'x-tpp-id': subject,
        'x-original-method': 'GET',
        'x-original-uri': '/accounts',
        'x-tollgate-auth-mode': 'nginx',
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('x-tollgate-status')).toBe('429');
      expect(res.headers.get('x-tollgate-decision')).toBe('insufficient-credits');
      expect(JSON.parse(res.headers.get('x-tollgate-problem') ?? '')).toMatchObject({ status: 429, balance: 0, cost: 1 });
      expect(res.headers.get('ratelimit')).toBe('"credits";r=0');

      const anonymous = await forward({ 'x-original-method': 'GET', 'x-original-uri': '/a', 'x-tollgate-auth-mode': 'nginx' });
      expect(anonymous.status).toBe(403);
      expect(anonymous.headers.get('x-tollgate-status')).toBe('401');
      expect(JSON.parse(anonymous.headers.get('x-tollgate-problem') ?? '')).toMatchObject({ code: 'UNAUTHORIZED' });
    });
  });
});
