import type { MiddlewareHandler } from 'hono';
import { answeredRequests } from '@tollgate/core/metrics';

/** Counts answered requests by status class; runs after the error handler, so errors are counted too. */
export const countResponses = (service: string): MiddlewareHandler => {
  const answered = answeredRequests(service);
  return async function countResponses(c, next) {
    await next();
    answered(c.res.status);
  };
};
