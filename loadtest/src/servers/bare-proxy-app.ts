import { Hono } from 'hono';
import { createUpstreamProxy, type ClosableApp } from '@tollgate/gateway-plugin';

/** Plain Hono in front of the same proxy, without tollgate: the benchmark's baseline. */
export const createBareProxyApp = (upstreamUrl: string, timeoutMs = 30_000): ClosableApp => {
  const proxy = createUpstreamProxy({ upstreamUrl, timeoutMs });
  const app = new Hono();
  app.all('*', (c) => proxy.handler(c));
  return Object.assign(app, { close: proxy.close });
};
