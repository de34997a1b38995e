import type { ErrorHandler, NotFoundHandler } from 'hono';
import { TollgateError, type Logger } from '@tollgate/core';
import { problemResponse } from '@tollgate/core/http';

/** Every error leaves as problem+json; anything that is not a TollgateError is logged and answered as a bare 500. */
export const onError =
  (logger: Logger): ErrorHandler =>
  (err, c) => {
    if (!(err instanceof TollgateError)) {
      logger.error('unhandled error', { method: c.req.method, path: c.req.path, error: err instanceof Error ? err.stack : String(err) });
    }
    return problemResponse(err);
  };

export const notFound: NotFoundHandler = (c) =>
  problemResponse(new TollgateError('NOT_FOUND', `There is no ${c.req.method} ${c.req.path}.`));
