import { Hono } from 'hono';
import { registry } from '@tollgate/core';
import type { SinkReadiness } from './readiness.ts';

/** Liveness, readiness (with the reasons when not ready) and Prometheus metrics. */
export const createSinkHealthApp = (readiness: SinkReadiness): Hono => {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) =>
    readiness.ready ? c.json({ ready: true }) : c.json({ ready: false, reasons: readiness.reasons }, 503),
  );
  app.get('/metrics', async (c) => c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }));
  return app;
};
