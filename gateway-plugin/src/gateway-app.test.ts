import { randomUUID } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTollgateConfig } from '@tollgate/core/config';
import { MemoryCreditStore, type CreditStore } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { InProcessBus, type ApiCallData } from '@tollgate/core/events';
import { freePort } from '@tollgate/testkit/free-port';
import { createGatewayApp } from './gateway-app.ts';
import { createMetricsApp } from './metrics-app.ts';
import { startSampleUpstream } from '@tollgate/sample-upstream';
import type { RunningServer } from '@tollgate/core/service';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

let upstream: RunningServer;
beforeAll(async () => {
  upstream = await startSampleUpstream();
});
afterAll(async () => {
  await upstream.close();
});

const gateway = async (configDoc: Record<string, unknown> = {}, options: { store?: CreditStore; upstreamUrl?: string } = {}) => {
  const store = options.store ?? new MemoryCreditStore({ restored: true });
  const bus = new InProcessBus();
  const events: CloudEventV1<ApiCallData>[] = [];
  bus.subscribe((batch) => void events.push(...(batch as CloudEventV1<ApiCallData>[])));
  const app = createGatewayApp({
    store,
    emitter: bus,
    config: parseTollgateConfig(configDoc),
    upstreamUrl: options.upstreamUrl ?? upstream.url,
    upstreamTimeoutMs: 2_000,
    logger: silent,
  });
  const subject = `tpp-${randomUUID()}`;
  await store.applyGrant(subject, 'k', 'h', 10);
  const call = (path: string, headers: Record<string, string> = { 'x-tpp-id': subject }) => app.request(`http://gateway.test${path}`, { headers });
  const delivered = async () => {
    await bus.flush();
    return events;
  };
  return { app, store, subject, call, delivered };
};

describe('gateway app', () => {
  it('charges and proxies a call to the upstream', async () => {
    const g = await gateway();
    try {
      const res = await g.call('/accounts/22289/balances');
      expect(res.status).toBe(200);
      expect(((await res.json()) as { Links: unknown }).Links).toEqual({ Self: '/accounts/22289/balances' });
      expect(res.headers.get('ratelimit')).toBe('"credits";r=9');
      expect(res.headers.get('x-fapi-interaction-id')).toBeTruthy();
      expect(await g.store.balance(g.subject)).toBe(9);
      expect((await g.delivered())[0]?.data).toMatchObject({ endpoint: '/accounts/22289/balances', status_code: 200, cost: 1, decision: 'debited' });
    } finally {
      await g.app.close();
    }
  });

  it('answers /healthz and /readyz without a subject and without charging', async () => {
    const g = await gateway();
    try {
      expect(await (await g.call('/healthz', {})).json()).toEqual({ status: 'live' });
      expect(await (await g.call('/readyz', {})).json()).toEqual({ status: 'ready', checks: { store: true } });
      expect(await g.store.balance(g.subject)).toBe(10);
      expect(await g.delivered()).toEqual([]);
    } finally {
      await g.app.close();
    }
  });

  it('does not show /metrics to TPPs: on their port it is a call like any other, the counters are on the metrics app', async () => {
    const g = await gateway();
    try {
      expect((await g.call('/metrics', {})).status).toBe(401);
      const charged = await g.call('/metrics', { 'x-tpp-id': g.subject });
      expect(await charged.text()).not.toContain('tollgate_credit_decisions_total');
      expect(await g.store.balance(g.subject)).toBe(9);
      const metrics = await createMetricsApp().request('http://gateway.test:9464/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      expect(await metrics.text()).toContain('tollgate_credit_decisions_total');
    } finally {
      await g.app.close();
    }
  });

  it('is not ready while the credit store does not answer', async () => {
    const store = new ValkeyCreditStore({ url: `redis://127.0.0.1:${await freePort()}` });
    const down = createGatewayApp({ store, emitter: new InProcessBus(), config: parseTollgateConfig({}), upstreamUrl: upstream.url, logger: silent });
    try {
      const res = await down.request('http://gateway.test/readyz');
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', checks: { store: false }, problems: ['the credit store does not answer'] });
    } finally {
      await down.close();
      await store.close();
    }
  });

  it('refunds a call the upstream could not answer under chargeOn: success', async () => {
    const g = await gateway({ credits: { chargeOn: 'success' } }, { upstreamUrl: `http://127.0.0.1:${await freePort()}` });
    try {
      const res = await g.call('/accounts');
      expect(res.status).toBe(502);
      expect(res.headers.get('ratelimit')).toBe('"credits";r=10');
      expect(await g.store.balance(g.subject)).toBe(10);
      expect((await g.delivered())[0]?.data).toMatchObject({ status_code: 502, cost: 0, decision: 'refunded' });
    } finally {
      await g.app.close();
    }
  });
});
