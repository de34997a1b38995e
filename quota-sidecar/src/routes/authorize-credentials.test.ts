import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { GrantRepository } from '@tollgate/core/ledger';
import { createSidecarApp } from '../sidecar-app.ts';
import { AUTHORIZE_TOKEN_HEADER } from '../http/authorize-credential.ts';
import { closeTestClickHouse, testClickHouse, testConfig, uniqueSubject } from '@tollgate/testkit/sidecar-fixture';

/**
 * Authorize needs its own credential: without one of AUTHORIZE_TOKENS in
 * Tollgate-Authorize-Token, POST and GET /v1/authorize debit nobody and reveal no balance,
 * through Hono and through the server's fast path alike. Under `subject.jwt` the subject
 * comes from the caller's bearer token, never from a bare subject header.
 */
const TOKEN = 'authorize-token-0123456789abcdef';
const SECRET = 'jwt-secret-for-tests-0123456789';
const config = testConfig({ routes: [{ method: 'POST', path: '/payments', cost: 5, chargeOn: 'request', onStoreError: 'deny' }] });

let store: MemoryCreditStore;
let app: ReturnType<typeof createSidecarApp>;
let jwtApp: ReturnType<typeof createSidecarApp>;
let server: ServerType;
let base: string;

beforeAll(async () => {
  store = new MemoryCreditStore({ restored: true });
  const common = { store, grants: new GrantRepository(await testClickHouse()), adminTokens: [], logger: createLogger('quota-sidecar', 'silent') };
  app = createSidecarApp({ ...common, config, authorizeTokens: [TOKEN, 'another-token'] });
  jwtApp = createSidecarApp({ ...common, config: testConfig({ ...config, subject: { header: 'x-tpp-id', jwt: { claims: ['client_id'] } } }), authorizeTokens: [TOKEN], jwtSecret: SECRET });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      base = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await closeTestClickHouse();
});

const funded = async (amount: number) => {
  const subject = uniqueSubject();
  await store.applyGrant(subject, 'k', 'h', amount);
  return subject;
};

const post = (subject: string, headers: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ subject, method: 'POST', path: '/payments' }),
});
const get = (subject: string, headers: Record<string, string>) => ({
  headers: { 'x-tpp-id': subject, 'x-original-method': 'POST', 'x-original-uri': '/payments', ...headers },
});

describe('the authorize credential', () => {
  const refused: [string, Record<string, string>][] = [
    ['no credential', {}],
    ['a wrong token', { [AUTHORIZE_TOKEN_HEADER]: 'wrong' }],
    ['a prefix of the token', { [AUTHORIZE_TOKEN_HEADER]: TOKEN.slice(0, -1) }],
    ['the token as an admin bearer token', { authorization: `Bearer ${TOKEN}` }],
    ['two tokens in one field', { [AUTHORIZE_TOKEN_HEADER]: `${TOKEN}, another-token` }],
  ];
  it.each(refused)('refuses %s with 401 on POST and GET, through Hono and the fast path, debiting nothing and showing no balance', async (_name, headers) => {
    const subject = await funded(10);
    const answers = [
      await app.request('http://sidecar/v1/authorize', post(subject, headers)),
      await fetch(`${base}/v1/authorize`, post(subject, headers)),
      await app.request('http://sidecar/v1/authorize', get(subject, headers)),
      await fetch(`${base}/v1/authorize`, get(subject, headers)),
      await app.request('http://sidecar/v1/authorize/payments', { ...get(subject, headers), method: 'POST' }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('ratelimit')).toBeNull();
      const text = await res.text();
      expect(text).not.toMatch(/balance/);
    }
    expect(await store.balance(subject)).toBe(10);
  });

  it('allows each configured token', async () => {
    const subject = await funded(10);
    expect((await fetch(`${base}/v1/authorize`, post(subject, { [AUTHORIZE_TOKEN_HEADER]: TOKEN }))).status).toBe(200);
    expect((await fetch(`${base}/v1/authorize`, get(subject, { [AUTHORIZE_TOKEN_HEADER]: 'another-token' }))).status).toBe(200);
    expect(await store.balance(subject)).toBe(0);
  });

  it('leaves health open and does not take the token for admin routes', async () => {
    expect((await app.request('http://sidecar/healthz')).status).toBe(200);
    expect((await app.request('http://sidecar/admin/v1/subjects/tpp-1/balance', { headers: { [AUTHORIZE_TOKEN_HEADER]: TOKEN, authorization: `Bearer ${TOKEN}` } })).status).toBe(401);
  });
});

describe('subjects under subject.jwt', () => {
  const jwt = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));
  const credential = { [AUTHORIZE_TOKEN_HEADER]: TOKEN };

  it('refuses a bare subject header with 401 and debits nobody', async () => {
    const subject = await funded(10);
    const res = await jwtApp.request('http://sidecar/v1/authorize', get(subject, credential));
    expect(res.status).toBe(401);
    expect(await store.balance(subject)).toBe(10);
  });

  it('takes the subject from the bearer token the proxy forwards', async () => {
    const subject = await funded(10);
    const token = await jwt({ client_id: subject });
    const res = await jwtApp.request('http://sidecar/v1/authorize', get('someone-else', { ...credential, authorization: `Bearer ${token}` }));
    expect(res.status).toBe(200);
    expect(await store.balance(subject)).toBe(5);
    const forged = await jwtApp.request('http://sidecar/v1/authorize', get(subject, { ...credential, authorization: `Bearer ${token}x` }));
    expect(forged.status).toBe(401);
  });

  it("takes the JSON body's authorization, and refuses a subject in it", async () => {
    const subject = await funded(10);
    const token = await jwt({ client_id: subject });
    const body = (fields: Record<string, unknown>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', ...credential },
      body: JSON.stringify({ method: 'POST', path: '/payments', ...fields }),
    });
    expect((await jwtApp.request('http://sidecar/v1/authorize', body({ subject }))).status).toBe(400);
    expect((await jwtApp.request('http://sidecar/v1/authorize', body({ authorization: 'Bearer nope' }))).status).toBe(401);
    expect((await jwtApp.request('http://sidecar/v1/authorize', body({ authorization: `Bearer ${token}` }))).status).toBe(200);
    expect(await store.balance(subject)).toBe(5);
  });
});
