import { DEFAULT_CONFIG } from '@tollgate/core/config';
import { openClickHouse } from '@tollgate/core/clickhouse';
import { GrantRepository } from '@tollgate/core/ledger';
import { serve } from '@hono/node-server';
import { createSidecarApp } from '@tollgate/quota-sidecar';
import type { AddressInfo } from 'node:net';
import { announce, listenPort } from './announce.ts';
import { grantBenchSubject, openBenchStore } from './bench-store.ts';
import { benchWorkers, runClusterPrimary, servesRequests } from './cluster-primary.ts';
import { countingBus } from './counting-bus.ts';
import { decisionCounts } from './decision-counts.ts';

/**
 * The system under test of the authorize scenario: the quota sidecar app with the default
 * configuration (cost 1 per call) and an event emitter, so every decision is metered as in
 * production. The grant repository serves only the admin routes, which this scenario never
 * calls, so it points at a ClickHouse that is never contacted.
 *
 * With BENCH_WORKERS > 1 it runs as the sidecar's SIDECAR_WORKERS does: a node:cluster
 * primary and that many workers on one port; the primary grants the credits once.
 */
const store = await openBenchStore();
const granted = servesRequests() && benchWorkers() > 1 ? undefined : await grantBenchSubject(store);
const balances = async (): Promise<Record<string, number>> =>
  granted ? { granted: granted.granted, balance: await store.balance(granted.subject) } : {};

if (!servesRequests()) {
  await runClusterPrimary({ extra: balances, onStop: () => store.close() });
} else {
  const grants = new GrantRepository(openClickHouse({ url: 'http://127.0.0.1:9' }));
  const { bus: emitter, counts } = countingBus();
  // The authorize API needs its credential, as in production: its check is part of what is measured.
  const app = createSidecarApp({ store, grants, config: DEFAULT_CONFIG, adminTokens: [], authorizeTokens: ['bench-authorize-token'], emitter });
  const server = serve({ fetch: app.fetch, port: listenPort(), hostname: '127.0.0.1' }, (info: AddressInfo) => {
    announce(info.port, {
      stats: async () => {
        await emitter.flush();
        return { ...counts(), ...(await decisionCounts()), ...(await balances()) };
      },
      onStop: async () => {
        server.close();
        await emitter.close();
        await store.close();
      },
    });
  });
}
