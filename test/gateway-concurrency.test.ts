import { randomUUID } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseTollgateConfig } from '@tollgate/core/config';
import { serveApp, type RunningServer } from '@tollgate/core/service';
import { MemoryCreditStore, type CreditStore } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { InProcessBus, type ApiCallData } from '@tollgate/core/events';
import { createGatewayApp } from '@tollgate/gateway-plugin';
import { startSampleUpstream } from '@tollgate/sample-upstream';

/**
 * Overspend under concurrency, end to end: a real gateway server in front of the real sample
 * upstream, 1,000 requests in flight at once for a subject whose balance covers 100.
 */
const REQUESTS = 1_000;
const BALANCE = 100;

let upstream: RunningServer;
beforeAll(async () => {
  upstream = await startSampleUpstream();
});
afterAll(async () => {
  await upstream.close();
});

const stores: [string, () => Promise<CreditStore>][] = [
  [
    'valkey',
    async () => {
      const store = new ValkeyCreditStore({ url: inject('valkeyUrl') });
      await store.connected();
      return store;
    },
  ],
  ['memory', async () => new MemoryCreditStore({ restored: true })],
];

describe.each(stores)('gateway under 1,000 concurrent requests (%s store)', (_name, open) => {
  it('lets exactly the 100 covered calls through and answers 429 to the other 900', async () => {
    const store = await open();
    const bus = new InProcessBus();
    const events: CloudEventV1<ApiCallData>[] = [];
    bus.subscribe((batch) => void events.push(...(batch as CloudEventV1<ApiCallData>[])));
    // A generous store budget: this test is about overspend, and a loaded test machine must not
    // turn a slow answer into a 503 (the budget itself is tested in gateway-store-faults).
    const config = parseTollgateConfig({ credits: { storeTimeoutMs: 5_000 } });
    const app = createGatewayApp({ store, emitter: bus, config, upstreamUrl: upstream.url, upstreamTimeoutMs: 10_000 });
    const server = await serveApp(app);
    const client = new Pool(server.url, { connections: REQUESTS });
    try {
      const subject = `tpp-${randomUUID()}`;
      const key = randomUUID();
      expect(await store.claimGrant(subject, key, 'grant-100')).toBe('new');
      expect(await store.applyGrant(subject, key, 'grant-100', BALANCE)).toEqual({ status: 'applied', balance: BALANCE });

      const statuses = await Promise.all(
        Array.from({ length: REQUESTS }, async () => {
          const res = await client.request({ path: '/accounts', method: 'GET', headers: { 'x-tpp-id': subject } });
          await res.body.dump();
          return res.statusCode;
        }),
      );

      expect(statuses.filter((s) => s === 200)).toHaveLength(BALANCE);
      expect(statuses.filter((s) => s === 429)).toHaveLength(REQUESTS - BALANCE);
      expect(await store.balance(subject)).toBe(0);
      expect([...(await store.realtimeBuckets(subject)).values()].reduce((a, b) => a + b, 0)).toBe(BALANCE);
      await bus.flush();
      expect(events).toHaveLength(REQUESTS);
      expect(events.filter((e) => e.data?.decision === 'debited')).toHaveLength(BALANCE);
      expect(events.filter((e) => e.data?.decision === 'denied')).toHaveLength(REQUESTS - BALANCE);
    } finally {
      await client.close();
      await server.close(1_000);
      await app.close();
      await store.close();
    }
  });
});
