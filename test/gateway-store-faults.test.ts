import { randomUUID } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTollgateConfig } from '@tollgate/core/config';
import { serveApp, type RunningServer } from '@tollgate/core/service';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { InProcessBus, type ApiCallData } from '@tollgate/core/events';
import { createGatewayApp, type ClosableApp } from '@tollgate/gateway-plugin';
import { startSampleUpstream } from '@tollgate/sample-upstream';
import { startValkey, type ValkeyServer } from '@tollgate/testkit/valkey';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * The store-error policy against a real Valkey that dies and comes back: one gateway process
 * for the whole story, never restarted.
 */
const BUDGET_MS = 50;
const DENY_PATH = '/accounts';
const ALLOW_PATH = '/accounts/22289/balances';

let valkey: ValkeyServer;
let upstream: RunningServer;
let store: ValkeyCreditStore;
let app: ClosableApp;
let gateway: RunningServer;
const events: CloudEventV1<ApiCallData>[] = [];
const bus = new InProcessBus();
const subject = `tpp-${randomUUID()}`;

const call = async (path: string) => {
  const started = performance.now();
  const res = await request(`${gateway.url}${path}`, { headers: { 'x-tpp-id': subject } });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body, ms: performance.now() - started };
};
const grant = async (amount: number) => {
  const key = randomUUID();
  await store.claimGrant(subject, key, `grant-${amount}`);
  return store.applyGrant(subject, key, `grant-${amount}`, amount);
};
const eventsFor = async (path: string) => {
  await bus.flush();
  return events.filter((e) => e.data?.endpoint === path);
};

beforeAll(async () => {
  valkey = await startValkey();
  upstream = await startSampleUpstream();
  store = new ValkeyCreditStore({ url: valkey.url });
  await store.connected();
  bus.subscribe((batch) => void events.push(...(batch as CloudEventV1<ApiCallData>[])));
  const config = parseTollgateConfig({
    credits: { storeTimeoutMs: BUDGET_MS, onStoreError: 'deny' },
    routes: [{ method: 'GET', path: '/accounts/:id/balances', onStoreError: 'allow' }],
  });
  app = createGatewayApp({ store, emitter: bus, config, upstreamUrl: upstream.url, upstreamTimeoutMs: 5_000 });
  gateway = await serveApp(app);
});
afterAll(async () => {
  await gateway.close(1_000);
  await app.close();
  await store.close();
  await upstream.close();
  await valkey.stop();
});

describe('gateway when Valkey fails', () => {
  it('answers within the budget while Valkey dies mid-run, by the route policy, and resumes when it is back', async () => {
    expect(await grant(100)).toMatchObject({ status: 'applied' });
    expect((await call(DENY_PATH)).status).toBe(200);

    // Requests keep flowing while the server is killed under them.
    let running = true;
    const during: { status: number; ms: number }[] = [];
    const traffic = (async () => {
      while (running) {
        const r = await call(DENY_PATH);
        during.push({ status: r.status, ms: r.ms });
      }
    })();
    await waitFor(() => during.length >= 5, { what: 'traffic before the kill' });
    await valkey.stop();
    await waitFor(() => during.some((r) => r.status === 503), { what: 'a 503 after the kill' });
    running = false;
    await traffic;
    expect(during.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    expect(during.filter((r) => r.status === 503).every((r) => r.ms < BUDGET_MS + 200)).toBe(true);

    // deny route: 503 problem+json, fast, handler not reached, event says denied with cost 0.
    const denied = await call(DENY_PATH);
    expect(denied.status).toBe(503);
    expect(denied.ms).toBeLessThan(BUDGET_MS + 200);
    expect(denied.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(denied.body)).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE' });
    expect((await eventsFor(DENY_PATH)).at(-1)?.data).toMatchObject({ status_code: 503, cost: 0, decision: 'denied' });

    // allow route: the call passes and owes its cost as unverified.
    const allowed = await call(ALLOW_PATH);
    expect(allowed.status).toBe(200);
    expect(allowed.ms).toBeLessThan(BUDGET_MS + 1_000);
    expect(JSON.parse(allowed.body)).toMatchObject({ Links: { Self: ALLOW_PATH } });
    expect((await eventsFor(ALLOW_PATH)).at(-1)?.data).toMatchObject({ status_code: 200, cost: 1, decision: 'unverified' });

    expect((await call('/readyz')).status).toBe(503);

    // Valkey comes back empty (a restart without persistence): nothing is decided from it, so
    // the deny route answers 503, never a false 429, until a restore has run. This test's ledger
    // is empty, so the restore leaves the balance at 0: then 429, and a grant resumes debits —
    // in the same gateway process, without a restart.
    await valkey.start();
    await waitFor(async () => (await call('/readyz')).status === 200, { what: 'the store to reconnect' });
    const unrestored = await call(DENY_PATH);
    expect(unrestored.status).toBe(503);
    expect(JSON.parse(unrestored.body)).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE' });
    expect((await call(ALLOW_PATH)).status).toBe(200);
    expect((await eventsFor(ALLOW_PATH)).at(-1)?.data).toMatchObject({ cost: 1, decision: 'unverified' });
    expect(await store.completeRestore(await store.beginRestore())).toBe(true);
    expect((await call(DENY_PATH)).status).toBe(429);
    await grant(5);
    await waitFor(async () => (await call(DENY_PATH)).status === 200, { what: 'debits to resume' });
    expect((await eventsFor(DENY_PATH)).at(-1)?.data).toMatchObject({ status_code: 200, cost: 1, decision: 'debited' });
  });

  it('answers within the budget while Valkey hangs (SIGSTOP), and resumes when it wakes', async () => {
    await grant(10);
    const pid = Number(/process_id:(\d+)/.exec(await store.client.info('server'))?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGSTOP');
    try {
      const denied = await call(DENY_PATH);
      expect(denied.status).toBe(503);
      expect(denied.ms).toBeGreaterThanOrEqual(BUDGET_MS - 5);
      expect(denied.ms).toBeLessThan(BUDGET_MS + 200);
      const allowed = await call(ALLOW_PATH);
      expect(allowed.status).toBe(200);
      expect((await eventsFor(ALLOW_PATH)).at(-1)?.data).toMatchObject({ status_code: 200, cost: 1, decision: 'unverified' });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(async () => (await call(DENY_PATH)).status === 200, { what: 'debits to resume' });
  });

  it('keeps debiting after the server lost its scripts (SCRIPT FLUSH)', async () => {
    await grant(3);
    const before = await store.balance(subject);
    await store.client.script('FLUSH');
    const res = await call(DENY_PATH);
    expect(res.status).toBe(200);
    expect(res.headers.ratelimit).toBe(`"credits";r=${before - 1}`);
    expect(await store.balance(subject)).toBe(before - 1);
  });
});
