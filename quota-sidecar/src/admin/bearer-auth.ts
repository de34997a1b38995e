import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { problemResponse, TollgateError } from '@tollgate/core';

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

const refuse = (detail: string, error?: string) =>
  problemResponse(new TollgateError('UNAUTHORIZED', detail), {
    'www-authenticate': `Bearer realm="tollgate-admin"${error ? `, error="${error}"` : ''}`,
  });

/**
 * Admin routes need one of the configured bearer tokens. Tokens are compared as SHA-256
 * digests with timingSafeEqual, so neither a token's content nor its length shows in the
 * timing, and every configured token is compared on every request. No tokens: every request is refused.
 */
export const bearerAuth = ({ tokens }: { tokens: readonly string[] }): MiddlewareHandler => {
  const accepted = tokens.filter((t) => t !== '').map(digest);
  return async function bearerAuth(c, next) {
    const match = /^Bearer +([^\s]+) *$/i.exec(c.req.header('authorization') ?? '');
    const presented = match?.[1];
    if (presented === undefined) return refuse('A bearer token is required.');
    const given = digest(presented);
    let valid = false;
    for (const token of accepted) valid = timingSafeEqual(token, given) || valid;
    if (!valid) return refuse('The bearer token is not valid.', 'invalid_token');
    await next();
  };
};
