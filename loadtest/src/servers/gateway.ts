import { DEFAULT_CONFIG } from '@tollgate/core/config';
import { serveApp } from '@tollgate/core/service';
import { createGatewayApp } from '@tollgate/gateway-plugin';
import { announce, listenPort } from './announce.ts';
import { benchEmitter } from './counting-bus.ts';
import { grantBenchSubject, openBenchStore } from './bench-store.ts';
import { decisionCounts } from './decision-counts.ts';
import { requiredEnv } from './required-env.ts';

/**
 * The system under test of the gateway scenario: the gateway app exactly as the runnable
 * gateway builds it (default configuration: subject from `x-tpp-id`, cost 1 per call),
 * with the in-process event bus and one subscriber that only counts what it receives.
 */
const store = await openBenchStore();
const { subject, granted } = await grantBenchSubject(store);
const { emitter, counts } = await benchEmitter();

const app = createGatewayApp({ store, emitter, config: DEFAULT_CONFIG, upstreamUrl: requiredEnv('UPSTREAM_URL'), upstreamTimeoutMs: 30_000 });
const server = await serveApp(app, { port: listenPort() });
announce(server.port, {
  stats: async () => {
    await emitter.flush();
    return { ...(await counts()), ...(await decisionCounts()), granted, balance: await store.balance(subject) };
  },
  onStop: async () => {
    await server.close(1_000);
    await app.close();
    await emitter.close();
    await store.close();
  },
});
