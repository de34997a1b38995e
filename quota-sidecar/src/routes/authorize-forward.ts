import { Hono, type Context } from 'hono';
import { isValidSubject, problemResponse, TollgateError, type TollgateConfig } from '@tollgate/core';
import { decisionError, decisionHeaders, problemHeaderValue } from '../authorize/answers.ts';
import type { Decide, Decision } from '../authorize/decide.ts';
import { originalRequest, type HeaderLookup } from '../authorize/original-request.ts';
import { notFound } from '../http/errors.ts';

/**
 * nginx's auth_request understands only 2xx, 401 and 403 from its subrequest (anything else
 * becomes a 500 and an error log line). A proxy that sends this header gets every refusal as
 * a 403 that names the real status and carries the problem document in headers, for the proxy
 * to answer the client with (deploy/nginx/tollgate-auth-request.conf).
 */
export const AUTH_MODE_HEADER = 'x-tollgate-auth-mode';
const PREFIX = '/v1/authorize';

const kebab = (code: string) => code.toLowerCase().replaceAll('_', '-');

/** A forward-auth answer: fields without a body (200, or nginx's 403), or a problem document. */
export type ForwardAnswer = { status: number; headers: Record<string, string> } | { refused: Response };

const allowedAnswer = (d: Decision): ForwardAnswer => {
  const headers: Record<string, string> = { 'x-tollgate-decision': d.outcome, 'x-tollgate-cost': String(d.cost), ...decisionHeaders(d) };
  if (d.balance !== null) headers['x-tollgate-balance'] = String(d.balance);
  return { status: 200, headers };
};

const refusalAnswer = (header: HeaderLookup, err: TollgateError, headers: Record<string, string> = {}): ForwardAnswer => {
  const named = { 'x-tollgate-decision': kebab(err.code), ...headers };
  if (header(AUTH_MODE_HEADER) !== 'nginx') return { refused: problemResponse(err, named) };
  return { status: 403, headers: { ...named, 'x-tollgate-status': String(err.status), 'x-tollgate-problem': problemHeaderValue(err) } };
};

/**
 * Decides a forward-auth request from its header fields (and, for Envoy's path-prefix form,
 * what the request itself says). Shared by the routes and the server's fast path.
 */
export const answerForward = async (
  decide: Decide,
  config: TollgateConfig,
  header: HeaderLookup,
  fallback?: { method: string; uri: string },
): Promise<ForwardAnswer> => {
  try {
    const subject = header(config.subject.header);
    if (!isValidSubject(subject)) {
      throw new TollgateError('UNAUTHORIZED', `A valid subject is required in the ${config.subject.header} header.`);
    }
    const { method, path } = originalRequest(header, fallback);
    const decision = await decide(subject, method, path);
    const refusal = decisionError(decision);
    return refusal ? refusalAnswer(header, refusal, decisionHeaders(decision)) : allowedAnswer(decision);
  } catch (err) {
    if (err instanceof TollgateError) return refusalAnswer(header, err);
    throw err;
  }
};

/**
 * Forward authorisation for proxies: nginx `auth_request`, Traefik `forwardAuth` and Envoy
 * `ext_authz`. The subject comes from the configured header; the original method and URI from
 * the proxy's headers or, for Envoy's path-prefix form (`/v1/authorize/<original path>`), from
 * the request itself. 200 allows the call; 401, 429 and 503 refuse it.
 */
export const authorizeForwardRoutes = ({ decide, config }: { decide: Decide; config: TollgateConfig }) => {
  const handle = async (c: Context, fallback?: { method: string; uri: string }) => {
    const answer = await answerForward(decide, config, (name) => c.req.header(name), fallback);
    return 'refused' in answer ? answer.refused : c.body(null, answer.status as 200 | 403, answer.headers);
  };

  return new Hono()
    .get(PREFIX, (c) => handle(c))
    .all(`${PREFIX}/*`, (c) => {
      const url = new URL(c.req.url);
      // The pattern also matches the bare prefix; only a path behind it is a request to authorise.
      if (!url.pathname.startsWith(`${PREFIX}/`)) return notFound(c);
      return handle(c, { method: c.req.method, uri: `${url.pathname.slice(PREFIX.length)}${url.search}` });
    });
};
