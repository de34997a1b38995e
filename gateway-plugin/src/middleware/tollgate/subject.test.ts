import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseTollgateConfig } from '@tollgate/core/config';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { InProcessBus } from '@tollgate/core/events';
import { tollgate } from './index.ts';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const gateway = async (jwt: Record<string, unknown>, jwtSecret?: string) => {
  const store = new MemoryCreditStore({ restored: true });
  for (const s of ['tpp-client', 'tpp-azp']) await store.applyGrant(s, 'k', 'h', 10);
  const bus = new InProcessBus();
  const subjects: (string | undefined)[] = [];
  bus.subscribe((batch) => void subjects.push(...batch.map((e) => e.subject)));
  const app = new Hono();
  app.use(tollgate({ store, emitter: bus, config: parseTollgateConfig({ subject: { jwt } }), logger: silent, ...(jwtSecret ? { jwtSecret } : {}) }));
  app.get('/accounts', (c) => c.text('ok'));
  const call = (token?: string, headers: Record<string, string> = {}) =>
    app.request('http://gateway.test/accounts', { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  const charged = async () => {
    await bus.flush();
    return subjects;
  };
  return { call, charged };
};

const hs256 = (claims: JWTPayload, secret = SECRET, expiresIn = '5m') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));

describe('subject from a bearer JWT with an HS256 secret', () => {
  it('takes the subject from client_id', async () => {
    const g = await gateway({}, SECRET);
    const res = await g.call(await hs256({ client_id: 'tpp-client', azp: 'tpp-azp' }));
    expect(res.status).toBe(200);
    expect(await g.charged()).toEqual(['tpp-client']);
  });

  it('falls back to azp when client_id is absent', async () => {
    const g = await gateway({}, SECRET);
    expect((await g.call(await hs256({ azp: 'tpp-azp' }))).status).toBe(200);
    expect(await g.charged()).toEqual(['tpp-azp']);
  });

  it('answers 401 problem+json for a bad signature, and charges nobody', async () => {
    const g = await gateway({}, SECRET);
    const res = await g.call(await hs256({ client_id: 'tpp-client' }, 'another-secret-of-at-least-32-bytes!!'));
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toEqual({
      type: 'https://tollgate.dev/problems/unauthorized',
      title: 'Unauthorized',
      status: 401,
      detail: 'The bearer token signature is invalid.',
      code: 'UNAUTHORIZED',
    });
    expect(await g.charged()).toEqual([]);
  });

  it('answers 401 for a missing token, an expired token, a token without the claims, and a claim outside the subject pattern', async () => {
    const g = await gateway({}, SECRET);
    const cases: [string | undefined, string][] = [
      [undefined, 'A bearer token is required.'],
      ['not-a-jwt', 'The bearer token is not a valid JWT for this gateway.'],
      [await hs256({ client_id: 'tpp-client' }, SECRET, '-1m'), 'The bearer token has expired.'],
      [await hs256({ sub: 'tpp-client' }), 'The request names no subject (claim client_id or azp).'],
      [await hs256({ client_id: 'tpp client' }), 'The subject in claim client_id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -'],
    ];
    for (const [token, detail] of cases) {
      const res = await g.call(token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ detail });
    }
    expect(await g.charged()).toEqual([]);
  });

  it('ignores the subject header when JWTs are configured', async () => {
    const g = await gateway({}, SECRET);
    expect((await g.call(undefined, { 'x-tpp-id': 'tpp-client' })).status).toBe(401);
  });

  it('checks issuer and audience when configured', async () => {
    const g = await gateway({ issuer: 'https://as.bank.test', audience: 'gateway' }, SECRET);
    expect((await g.call(await hs256({ client_id: 'tpp-client', iss: 'https://as.bank.test', aud: 'gateway' }))).status).toBe(200);
    const wrong = await g.call(await hs256({ client_id: 'tpp-client', iss: 'https://evil.test', aud: 'gateway' }));
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ detail: 'The bearer token claim "iss" is not accepted.' });
  });

  it('refuses to start without a key: neither JWKS URL nor secret', async () => {
    await expect(gateway({})).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('subject from a bearer JWT verified against a JWKS URL', () => {
  let server: Server;
  let jwksUrl: string;
  let sign: (claims: JWTPayload) => Promise<string>;
  let signWithStrangerKey: (claims: JWTPayload) => Promise<string>;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const stranger = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    sign = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'key-1' }).setExpirationTime('5m').sign(privateKey);
    signWithStrangerKey = (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'key-1' }).setExpirationTime('5m').sign(stranger.privateKey);
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('verifies RS256 with the published key and takes the subject from client_id', async () => {
    const g = await gateway({ jwksUrl });
    expect((await g.call(await sign({ client_id: 'tpp-client' }))).status).toBe(200);
    expect((await g.call(await sign({ azp: 'tpp-azp' }))).status).toBe(200);
    expect(await g.charged()).toEqual(['tpp-client', 'tpp-azp']);
  });

  it('answers 401 for a token signed by another key', async () => {
    const g = await gateway({ jwksUrl });
    const res = await g.call(await signWithStrangerKey({ client_id: 'tpp-client' }));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ detail: 'The bearer token signature is invalid.' });
  });

  it('does not accept an HS256 token against a JWKS (no algorithm confusion)', async () => {
    const g = await gateway({ jwksUrl }, SECRET);
    expect((await g.call(await hs256({ client_id: 'tpp-client' }))).status).toBe(401);
  });

  it('answers 503 when the key set cannot be fetched: the token may be fine', async () => {
    const g = await gateway({ jwksUrl: 'http://127.0.0.1:9/jwks.json' });
    const res = await g.call(await sign({ client_id: 'tpp-client' }));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    expect(await g.charged()).toEqual([]);
  });
});
