import type { MiddlewareHandler } from 'hono';
import { TollgateError } from '@tollgate/core';
import { problemResponse } from '@tollgate/core/http';
import { tokenMatcher } from './token-matcher.ts';

/**
 * The field that carries the authorize credential: one of AUTHORIZE_TOKENS, sent by the proxy
 * or gateway in front (deploy/nginx, deploy/envoy, deploy/traefik). It is not `Authorization`,
 * because that field belongs to the caller's request: under `subject.jwt` it carries the
 * caller's token, which the sidecar reads for the subject.
 */
export const AUTHORIZE_TOKEN_HEADER = 'tollgate-authorize-token';

/**
 * Checks the authorize credential: undefined when the call may be decided, else the 401 to
 * answer. With no tokens configured every call may be decided; the sidecar only starts so on
 * a loopback address (sidecar-config.ts), where nothing but this host reaches it.
 */
export const authorizeCredential = (tokens: readonly string[]): ((presented: string | undefined) => TollgateError | undefined) => {
  if (tokens.every((t) => t === '')) return () => undefined;
  const matches = tokenMatcher(tokens);
  return function checkCredential(presented) {
    if (presented === undefined || presented === '') return new TollgateError('UNAUTHORIZED', `The authorize API needs one of AUTHORIZE_TOKENS in ${AUTHORIZE_TOKEN_HEADER}.`);
    return matches(presented) ? undefined : new TollgateError('UNAUTHORIZED', `The ${AUTHORIZE_TOKEN_HEADER} is not valid.`);
  };
};

/** The Hono guard of the authorize routes: a refusal is 401 problem+json and decides nothing. */
export const authorizeGuard = (check: ReturnType<typeof authorizeCredential>): MiddlewareHandler =>
  async function authorizeGuard(c, next) {
    const refusal = check(c.req.header(AUTHORIZE_TOKEN_HEADER));
    if (refusal) return problemResponse(refusal);
    await next();
  };
