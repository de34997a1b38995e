import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMinute } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { restoreStore } from '@tollgate/core/ledger';
import { closeTestClickHouse, createTestSidecar, testClickHouse, testConfig, uniqueSubject, type TestSidecar } from '@tollgate/testkit/sidecar-fixture';
import { startValkey, type ValkeyServer } from '@tollgate/testkit/valkey';
import { waitFor } from '@tollgate/testkit/wait-for';

/** The store-error policy, against a Valkey of this file's own that is paused, killed and restarted. */
const config = testConfig({
  credits: { ...testConfig().credits, storeTimeoutMs: 50, onStoreError: 'deny' },
  routes: [{ method: 'GET', path: '/accounts', cost: 1, chargeOn: 'request', onStoreError: 'allow' }],
});

describe('sidecar when the credit store fails', () => {
  let valkey: ValkeyServer;
  let store: ValkeyCreditStore;
  let admin: ValkeyCreditStore;
  let sidecar: TestSidecar;
  let subject: string;

  beforeAll(async () => {
    valkey = await startValkey();
    store = new ValkeyCreditStore({ url: valkey.url });
    admin = new ValkeyCreditStore({ url: valkey.url });
    await Promise.all([store.connected(), admin.connected()]);
    sidecar = await createTestSidecar({ store, config });
    subject = uniqueSubject();
    expect((await sidecar.topUp(subject, 100)).status).toBe(201);
  });
  afterAll(async () => {
    await store?.close();
    await admin?.close();
    await valkey?.stop();
    await closeTestClickHouse();
  });

  const authorize = (path: string) =>
    sidecar.app.request('http://sidecar/v1/authorize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject, method: 'GET', path }),
    });
  const forward = (path: string, extra: Record<string, string> = {}) =>
    sidecar.app.request('http://sidecar/v1/authorize', {
      headers: { 'x-tpp-id': subject, 'x-original-method': 'GET', 'x-original-uri': path, ...extra },
    });

  const expectPolicy = async () => {
    const allowed = await authorize('/accounts');
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ allowed: true, cost: 1, balance: null, decision: 'unverified' });
    expect(allowed.headers.get('ratelimit')).toBeNull();

    const denied = await authorize('/payments');
    expect(denied.status).toBe(503);
    expect(denied.headers.get('content-type')).toBe('application/problem+json');
    expect(await denied.json()).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });

    const forwarded = await forward('/accounts');
    expect(forwarded.status).toBe(200);
    expect(forwarded.headers.get('x-tollgate-decision')).toBe('unverified');
    expect((await forward('/payments')).status).toBe(503);
    const nginxMode = await forward('/payments', { 'x-tollgate-auth-mode': 'nginx' });
    expect(nginxMode.status).toBe(403);
    expect(nginxMode.headers.get('x-tollgate-status')).toBe('503');
  };

  it('decides by the route policy when the store does not answer within the budget', async () => {
    // A paused Valkey holds every script call: the debit misses its 50 ms budget.
    await admin.client.call('CLIENT', 'PAUSE', '2000', 'WRITE');
    try {
      const started = Date.now();
      await expectPolicy();
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      await admin.client.call('CLIENT', 'UNPAUSE');
    }
    const metrics = await (await sidecar.app.request('http://sidecar/metrics')).text();
    expect(metrics).toMatch(/tollgate_credit_store_errors_total\{operation="debit",reason="timeout"\} [1-9]/);
  });

  it('decides by the route policy when the store is down, reports not ready, and recovers when it is back', async () => {
    await valkey.stop();
    await waitFor(async () => !(await store.ping()), { what: 'the store to notice Valkey is gone' });
    await expectPolicy();
    const readyz = await sidecar.app.request('http://sidecar/readyz');
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', checks: { store: false, dependencies: true } });
    expect((await sidecar.admin(`/admin/v1/subjects/${subject}/balance`)).status).toBe(503);

    await valkey.start();
    await waitFor(async () => (await sidecar.app.request('http://sidecar/readyz')).status === 200, { what: 'readiness after restart' });
    // The restarted Valkey is empty: nothing is decided from it until a restore has run — the
    // route's policy answers, never a false 429 — and the balance endpoint answers 503, not 0.
    await expectPolicy();
    expect((await sidecar.admin(`/admin/v1/subjects/${subject}/balance`)).status).toBe(503);
    // Restored from the ledger (the 100 granted; this sidecar meters nothing), the credits are back.
    const restored = await restoreStore({ clickhouse: await testClickHouse(), store, watermarkMinute: () => epochMinute(Date.now()), detectedAtMs: Date.now() });
    expect(restored).toMatchObject({ restored: true, caughtUp: true });
    const res = await authorize('/payments');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ allowed: true, balance: 99, cost: 1 });
  });
});
