import { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { TollgateError } from '@tollgate/core';
import type { HeaderReader } from '@tollgate/core/charging';

const repeated = (name: string) =>
  new TollgateError('BAD_REQUEST', `The ${name} field was sent more than once; send it once.`);

/**
 * The request's fields, each of which must come once: Node keeps every line of a repeated
 * field, and a field the decision reads (the subject, the original method and URI, an
 * Idempotency-Key) sent twice is refused with 400 rather than read as the two values joined
 * with ", " (which Headers.get would give).
 */
export const singleFields = (incoming: IncomingMessage): HeaderReader => ({
  header(name) {
    const values = incoming.headersDistinct[name];
    if (values && values.length > 1) throw repeated(name);
    return values?.[0];
  },
});

/** The same for a Hono request: Node's lines when served by @hono/node-server, else (app.request) the joined fields. */
export const singleFieldsOf = (c: Context): HeaderReader => {
  const env: unknown = c.env;
  const incoming = typeof env === 'object' && env !== null && 'incoming' in env ? env.incoming : undefined;
  return incoming instanceof IncomingMessage ? singleFields(incoming) : c.req;
};
