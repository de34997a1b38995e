import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { OpenMeter } from '@openmeter/sdk';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMinute, MemoryCreditStore } from '@tollgate/core/credits';
import { reconcileSubjects } from '@tollgate/core/ledger';
import {
  ADMIN_TOKEN,
  closeTestClickHouse,
  createTestEvents,
  createTestSidecar,
  testClickHouse,
  testConfig,
  uniqueSubject,
  type TestEvents,
  type TestSidecar,
} from '@tollgate/testkit/sidecar-fixture';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * End to end: an upstream Open Banking API that meters itself, emitting one api.call event per
 * call in the source format (no cost, no decision) through the ingest API with OpenMeter's
 * client. After reconciliation the TPP's balance is its grants minus the route prices of those
 * calls — billed exactly as if the calls had gone through the gateway.
 */
const NOW = Date.parse('2026-01-15T12:00:00.000Z');
const config = testConfig({
  credits: { ...testConfig().credits, defaultCost: 1 },
  routes: [
    { method: 'GET', path: '/accounts/:id/transactions', cost: 3, chargeOn: 'request', onStoreError: 'deny' },
    { method: 'POST', path: '/payments', cost: 10, chargeOn: 'request', onStoreError: 'deny' },
  ],
  meters: [{ slug: 'api_calls', eventType: 'api.call', aggregation: 'COUNT' }],
});

describe('an API that emits its own api.call events is billed like the gateway', () => {
  let events: TestEvents;
  let sidecar: TestSidecar;
  let server: ServerType;
  let om: OpenMeter;
  let clock = NOW - 10 * 60_000;
  const store = new MemoryCreditStore({ restored: true });

  /** The upstream: answers, then reports the call to the metering API, as our users' APIs do with OpenMeter. */
  const upstream = new Hono().all('*', async (c) => {
    const subject = c.req.header('x-tpp-id') ?? '';
    clock += 1_000;
    await om.events.ingest({
      type: 'api.call',
      source: 'open-banking-api',
      id: randomUUID(),
      subject,
      time: new Date(clock),
      data: { endpoint: c.req.path, method: c.req.method, status_code: 200, response_time_ms: 12 },
    });
    return c.json({ ok: true });
  });

  beforeAll(async () => {
    events = await createTestEvents();
    sidecar = await createTestSidecar({ store, config, emitter: events.bus, now: () => NOW });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: sidecar.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    om = new OpenMeter({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await events.close();
    await closeTestClickHouse();
  });

  it('balance after reconciliation = grants - route prices of the reported calls', async () => {
    const tpp = uniqueSubject();
    expect((await sidecar.topUp(tpp, 100)).status).toBe(201);
    expect((await sidecar.topUp(tpp, 50)).status).toBe(201);
    const calls: [string, string, number][] = [
      ['GET', '/accounts/acc-1/transactions', 3],
      ['GET', '/accounts/acc-2/transactions', 3],
      ['POST', '/payments', 10],
      ['GET', '/accounts', 1],
      ['HEAD', '/status', 1],
      ['POST', '/payments', 10],
    ];
    for (const [method, path] of calls) {
      const res = await upstream.request(`http://upstream${path}`, { method, headers: { 'x-tpp-id': tpp } });
      expect(res.status).toBe(200);
    }
    await waitFor(
      async () => {
        const res = await sidecar.admin(`/api/v1/meters/api_calls/query?subject=${tpp}`);
        return ((await res.json()) as { data: { value: number }[] }).data[0]?.value === calls.length;
      },
      { what: 'every reported call metered' },
    );
    await reconcileSubjects({ clickhouse: await testClickHouse(), store, subjects: [tpp], watermarkMinute: epochMinute(NOW) + 1, now: () => NOW });
    const owed = calls.reduce((n, [, , price]) => n + price, 0);
    expect(await sidecar.balance(tpp)).toBe(150 - owed);

    // A second reconciliation at the same watermark changes nothing.
    await reconcileSubjects({ clickhouse: await testClickHouse(), store, subjects: [tpp], watermarkMinute: epochMinute(NOW) + 1, now: () => NOW });
    expect(await sidecar.balance(tpp)).toBe(150 - owed);
  });
});
