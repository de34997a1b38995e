import type { MiddlewareHandler } from 'hono';
import { TollgateError } from '@tollgate/core';
import { problemResponse } from '@tollgate/core/http';
import { tokenMatcher } from '../http/token-matcher.ts';

const refuse = (detail: string, error?: string) =>
  problemResponse(new TollgateError('UNAUTHORIZED', detail), {
    'www-authenticate': `Bearer realm="tollgate-admin"${error ? `, error="${error}"` : ''}`,
  });

/**
 * Admin routes need one of the configured bearer tokens, compared in constant time
 * (token-matcher.ts). No tokens: every request is refused.
 */
export const bearerAuth = ({ tokens }: { tokens: readonly string[] }): MiddlewareHandler => {
  const matches = tokenMatcher(tokens);
  return async function bearerAuth(c, next) {
    const match = /^Bearer +([^\s]+) *$/i.exec(c.req.header('authorization') ?? '');
    const presented = match?.[1];
    if (presented === undefined) return refuse('A bearer token is required.');
    if (!matches(presented)) return refuse('The bearer token is not valid.', 'invalid_token');
    await next();
  };
};
