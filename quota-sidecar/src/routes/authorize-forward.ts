import { Hono, type Context } from 'hono';
import { TollgateError } from '@tollgate/core';
import { problemResponse } from '@tollgate/core/http';
import type { Call, HeaderReader, SubjectResolver } from '@tollgate/core/charging';
import { decisionError, decisionHeaders, problemHeaderValue } from '../authorize/answers.ts';
import type { Decide } from '../authorize/decide.ts';
import { originalRequest } from '../authorize/original-request.ts';
import { notFound } from '../http/errors.ts';
import { singleFieldsOf } from '../http/single-fields.ts';

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

const allowedAnswer = (d: Call): ForwardAnswer => {
  const headers: Record<string, string> = { 'x-tollgate-decision': d.outcome, 'x-tollgate-cost': String(d.cost), ...decisionHeaders(d) };
  if (d.balance !== null) headers['x-tollgate-balance'] = String(d.balance);
  return { status: 200, headers };
};

const refusalAnswer = (req: HeaderReader, err: TollgateError, headers: Record<string, string> = {}): ForwardAnswer => {
  const named = { 'x-tollgate-decision': kebab(err.code), ...headers };
  if (req.header(AUTH_MODE_HEADER) !== 'nginx') return { refused: problemResponse(err, named) };
  return { status: 403, headers: { ...named, 'x-tollgate-status': String(err.status), 'x-tollgate-problem': problemHeaderValue(err) } };
};

/**
 * Decides a forward-auth request from its header fields (and, for Envoy's path-prefix form,
 * what the request itself says). The subject is found as the gateway finds it (the configured
 * header, or the caller's bearer JWT under `subject.jwt`). Shared by the routes and the
 * server's fast path.
 */
export const answerForward = async (
  decide: Decide,
  resolveSubject: SubjectResolver,
  req: HeaderReader,
  fallback?: { method: string; uri: string },
): Promise<ForwardAnswer> => {
  try {
    let subject = resolveSubject(req);
    if (subject instanceof Promise) subject = await subject;
    if (subject instanceof TollgateError) throw subject;
    const { method, path } = originalRequest(req, fallback);
    const decision = await decide(subject, method, path);
    const refusal = decisionError(decision);
    return refusal ? refusalAnswer(req, refusal, decisionHeaders(decision)) : allowedAnswer(decision);
  } catch (err) {
    if (err instanceof TollgateError) return refusalAnswer(req, err);
    throw err;
  }
};

/**
 * Forward authorisation for proxies: nginx `auth_request`, Traefik `forwardAuth` and Envoy
 * `ext_authz`. The original method and URI come from the proxy's headers or, for Envoy's
 * path-prefix form (`/v1/authorize/<original path>`), from the request itself. 200 allows the
 * call; 400, 401, 429 and 503 refuse it.
 */
export const authorizeForwardRoutes = ({ decide, resolveSubject }: { decide: Decide; resolveSubject: SubjectResolver }) => {
  const handle = async (c: Context, fallback?: { method: string; uri: string }) => {
    const answer = await answerForward(decide, resolveSubject, singleFieldsOf(c), fallback);
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
