import { Hono } from 'hono';
import type { Logger } from '@tollgate/core';
import { ENV, type TollgateConfig } from '@tollgate/core/config';
import { healthRoutes, probe } from '@tollgate/core/service';
import { problemResponse } from '@tollgate/core/http';
import { metrics } from '@tollgate/core/metrics';
import type { CreditStore } from '@tollgate/core/credits';
import type { EventEmitter } from '@tollgate/core/events';
import { chargedHandler } from './middleware/tollgate/index.ts';
import { createUpstreamProxy } from './proxy/upstream-proxy.ts';

/** A Hono app that holds the upstream's connection pool: `close()` releases it. */
export type ClosableApp = Hono & { close(): Promise<void> };

export interface GatewayAppOptions {
  store: CreditStore;
  emitter: EventEmitter;
  config: TollgateConfig;
  upstreamUrl: string;
  upstreamTimeoutMs?: number;
  jwtSecret?: string;
  logger?: Logger;
}

/**
 * The gateway: every request is charged by tollgate and proxied to the upstream, except
 * /healthz and /readyz, which are registered first and answer before tollgate. /metrics is
 * not here: the port TPPs call does not show them the counters (see metrics-app.ts).
 */
export const createGatewayApp = ({
  store,
  emitter,
  config,
  upstreamUrl,
  upstreamTimeoutMs = ENV.UPSTREAM_TIMEOUT_MS.fallback,
  jwtSecret,
  logger,
}: GatewayAppOptions): ClosableApp => {
  const proxy = createUpstreamProxy({ upstreamUrl, timeoutMs: upstreamTimeoutMs });
  const app = new Hono();

  app.onError((err, c) => {
    logger?.error('request failed', { path: c.req.path, error: String(err) });
    return problemResponse(err);
  });

  // /metrics is not here: the port TPPs call does not show them the counters (metrics-app.ts).
  const storeBudgetMs = Math.max(config.credits.storeTimeoutMs, 1_000);
  app.route(
    '/',
    healthRoutes({
      metricsText: false,
      readiness: async () => {
        const up = await probe(() => store.ping(), storeBudgetMs);
        metrics.storeUp.set(up ? 1 : 0);
        // The local event log (no Kafka): its backlog, and not ready while events cannot be recorded or stored.
        const events = emitter.status?.();
        const problems = [...(up ? [] : ['the credit store does not answer']), ...(events?.problem ? [events.problem] : [])];
        return { checks: { store: up, ...(events ? { events } : {}) }, problems };
      },
    }),
  );

  // tollgate wraps the proxy rather than running as middleware before it: one handler per
  // request, which Hono calls without composing a chain (the same behaviour, fewer frames).
  app.all('*', chargedHandler({ store, emitter, config, ...(jwtSecret ? { jwtSecret } : {}), ...(logger ? { logger } : {}) }, proxy.handler));
  return Object.assign(app, { close: proxy.close });
};
