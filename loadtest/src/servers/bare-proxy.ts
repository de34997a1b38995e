import { serveApp } from '@tollgate/core/service';
import { createBareProxyApp } from './bare-proxy-app.ts';
import { announce, listenPort } from './announce.ts';
import { requiredEnv } from './required-env.ts';

/** The baseline of the gateway scenario: plain Hono in front of the gateway's own undici proxy. */
const app = createBareProxyApp(requiredEnv('UPSTREAM_URL'));
const server = await serveApp(app, { port: listenPort() });
announce(server.port, {
  onStop: async () => {
    await server.close(1_000);
    await app.close();
  },
});
