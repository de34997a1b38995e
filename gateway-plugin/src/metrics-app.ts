import { Hono } from 'hono';
import { registry } from '@tollgate/core/metrics';

/**
 * The gateway's `/metrics`, served on METRICS_PORT, apart from the port TPPs call: the
 * counters show every TPP's traffic and decisions, which no TPP should read. Expose this port
 * to the Prometheus scraper only.
 */
export const createMetricsApp = (): Hono =>
  new Hono().get('/metrics', async (c) => c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }));
