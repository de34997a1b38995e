import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { MemoryCreditStore, type CreditStore } from '@tollgate/core/credits';
import { GrantRepository } from '@tollgate/core/ledger';
import { createSidecarApp } from '../sidecar-app.ts';
import { closeTestClickHouse, testClickHouse, testConfig, uniqueSubject } from '@tollgate/testkit/sidecar-fixture';

const TOKENS = ['first-admin-token-aaaaaaaa', 'second-token'];

afterAll(closeTestClickHouse);

describe('admin bearer tokens', () => {
  let store: CreditStore;
  let app: ReturnType<typeof createSidecarApp>;
  let noTokens: ReturnType<typeof createSidecarApp>;

  beforeAll(async () => {
    store = new MemoryCreditStore({ restored: true });
    const grants = new GrantRepository(await testClickHouse());
    const common = { store, grants, config: testConfig(), logger: createLogger('quota-sidecar', 'silent') };
    app = createSidecarApp({ ...common, adminTokens: TOKENS });
    noTokens = createSidecarApp({ ...common, adminTokens: [] });
  });

  const topUp = (target: typeof app, authorization?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': uniqueSubject('key') };
    if (authorization !== undefined) headers.authorization = authorization;
    return target.request(`http://sidecar/admin/v1/subjects/tpp-auth/credits`, { method: 'POST', headers, body: '{"amount":5}' });
  };

  it.each([
    ['no Authorization header', undefined],
    ['an empty header', ''],
    ['another scheme', `Basic ${TOKENS[0]}`],
    ['a wrong token', 'Bearer wrong-token'],
    ['a prefix of a valid token', `Bearer ${TOKENS[0]?.slice(0, -1)}`],
    ['a valid token with a suffix', `Bearer ${TOKENS[0]}x`],
    ['the scheme without a token', 'Bearer '],
    ['two tokens', `Bearer ${TOKENS[0]} ${TOKENS[1]}`],
  ])('refuses %s with 401 problem+json and WWW-Authenticate, changing nothing', async (_name, authorization) => {
    const res = await topUp(app, authorization);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="tollgate-admin"/);
    expect(await res.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(await store.balance('tpp-auth')).toBe(0);
  });

  it('guards every admin route, unknown ones included', async () => {
    for (const path of ['/admin/v1/subjects/tpp-auth/balance', '/admin/v1/subjects/tpp-auth/ledger', '/admin/v1/unknown']) {
      expect((await app.request(`http://sidecar${path}`)).status).toBe(401);
    }
  });

  it('accepts each configured token, with the scheme in any case', async () => {
    expect((await topUp(app, `Bearer ${TOKENS[0]}`)).status).toBe(201);
    expect((await topUp(app, `bearer ${TOKENS[1]}`)).status).toBe(201);
    expect(await store.balance('tpp-auth')).toBe(10);
  });

  it('refuses everything when no token is configured', async () => {
    const res = await topUp(noTokens, `Bearer ${TOKENS[0]}`);
    expect(res.status).toBe(401);
    expect((await noTokens.request('http://sidecar/admin/v1/subjects/tpp-auth/balance', { headers: { authorization: 'Bearer ' } })).status).toBe(401);
  });

  it('leaves authorize, health and metrics open', async () => {
    expect((await app.request('http://sidecar/healthz')).status).toBe(200);
    expect((await app.request('http://sidecar/readyz')).status).toBe(200);
    const metrics = await app.request('http://sidecar/metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('tollgate_topups_total');
    const authorize = await app.request('http://sidecar/v1/authorize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'tpp-auth', method: 'GET', path: '/accounts' }),
    });
    expect(authorize.status).toBe(200);
  });
});
