import type { MiddlewareHandler } from 'hono';
import { metrics } from '@tollgate/core';

/** Counts answered requests by status class; runs after the error handler, so errors are counted too. */
export const countResponses = (service: string): MiddlewareHandler =>
  async function countResponses(c, next) {
    await next();
    metrics.httpRequests.inc({ service, status: `${Math.floor(c.res.status / 100)}xx` });
  };
