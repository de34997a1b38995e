import { Hono } from 'hono';
import { metrics, problemResponse, registry, settleWithin, TollgateError, type CreditStore, type EventPathStatus } from '@tollgate/core';

/** A probe answers within this budget or counts as down, so /readyz never hangs on a dependency. */
const PROBE_BUDGET_MS = 2_000;

const probe = async (check: () => Promise<boolean>): Promise<boolean> => {
  try {
    return await settleWithin(check(), PROBE_BUDGET_MS);
  } catch {
    return false;
  }
};

export interface HealthOptions {
  store: CreditStore;
  ready?: (() => Promise<boolean>) | undefined;
  /** The Prometheus text of /metrics: this process's registry, or every worker's when run as several. */
  metricsText?: (() => Promise<string>) | undefined;
  /** The event path's backlog and problem (the local event log): shown, and not ready while it has a problem. */
  events?: (() => EventPathStatus | undefined) | undefined;
}

/** `/healthz` (the process is live), `/readyz` (its dependencies answer) and `/metrics`; none needs a token. */
export const healthRoutes = ({ store, ready, metricsText = () => registry.metrics(), events }: HealthOptions) =>
  new Hono()
    .get('/healthz', (c) => c.json({ status: 'live' }))
    .get('/readyz', async (c) => {
      const [storeUp, dependenciesUp] = await Promise.all([probe(() => store.ping()), ready ? probe(ready) : Promise.resolve(true)]);
      metrics.storeUp.set(storeUp ? 1 : 0);
      const eventPath = events?.();
      const checks = { store: storeUp, dependencies: dependenciesUp, ...(eventPath ? { events: eventPath } : {}) };
      if (storeUp && dependenciesUp && !eventPath?.problem) return c.json({ status: 'ready', checks });
      return problemResponse(new TollgateError('DEPENDENCY_UNAVAILABLE', 'A dependency does not answer.', { checks }));
    })
    .get('/metrics', async (c) => c.body(await metricsText(), 200, { 'content-type': registry.contentType }));
