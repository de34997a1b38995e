import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { announce, listenPort } from './announce.ts';
import { runClusterPrimary, servesRequests } from './cluster-primary.ts';

/**
 * The HTTP baseline of the authorize scenario: Hono on @hono/node-server reading the same
 * JSON body and answering an allow, without a credit store. Sidecar ÷ this is what the
 * store round trip and the sidecar's own work cost. With BENCH_WORKERS > 1 it runs as many
 * processes on one port as the sidecar does.
 */
if (!servesRequests()) {
  await runClusterPrimary();
} else {
  const app = new Hono().post('/v1/authorize', async (c) => {
    const body = (await c.req.json()) as { subject?: unknown };
    if (typeof body.subject !== 'string') return c.json({ title: 'subject is required' }, 400);
    return c.json({ allowed: true, cost: 1, balance: 0, decision: 'debited' });
  });

  const server = serve({ fetch: app.fetch, port: listenPort(), hostname: '127.0.0.1' }, (info: AddressInfo) => {
    announce(info.port, {
      onStop: async () => {
        server.close();
      },
    });
  });
}
