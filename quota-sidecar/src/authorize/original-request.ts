import { TollgateError } from '@tollgate/core';
import { normalizePath, type HeaderReader } from '@tollgate/core/charging';

/** Headers in which proxies pass the method and URI of the request being authorised. */
const METHOD_HEADERS = ['x-original-method', 'x-forwarded-method'] as const; // nginx, Traefik/Envoy
const URI_HEADERS = ['x-original-uri', 'x-envoy-original-path', 'x-forwarded-uri'] as const;

const HTTP_METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
const MAX_URI_LENGTH = 8192;

/**
 * The one value the present headers agree on. A proxy overwrites its own header but may pass
 * the client's others through (Traefik forwards every client header by default): if they could
 * disagree, a client could pick the route it is priced by, so disagreement is refused.
 */
const agreed = (req: HeaderReader, names: readonly string[], normalise: (v: string) => string, own?: string) => {
  const values = new Set(names.flatMap((name) => req.header(name) ?? []).map(normalise));
  // What the request itself says (Envoy's path-prefix form) is the proxy's own account: a
  // header that a client sent along must agree with it too.
  if (own !== undefined) values.add(normalise(own));
  if (values.size > 1) throw new TollgateError('BAD_REQUEST', `The headers ${names.join(', ')} disagree about the original request.`);
  return values.values().next().value;
};

export interface OriginalRequest {
  method: string;
  /** Normalised path, without the query. */
  path: string;
}

export const parseMethod = (value: unknown): string => {
  if (typeof value !== 'string' || !HTTP_METHOD.test(value)) {
    throw new TollgateError('BAD_REQUEST', 'method must be an HTTP method token, such as "GET".');
  }
  return value.toUpperCase();
};

export const parsePath = (value: unknown): string => {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > MAX_URI_LENGTH) {
    throw new TollgateError('BAD_REQUEST', `path must be a string that starts with "/", at most ${MAX_URI_LENGTH} characters.`);
  }
  return normalizePath(value);
};

/**
 * The request a proxy asks about: its headers, or `fallback`, what the request itself says, as
 * with Envoy's ext_authz, which sends the original method and path behind a path prefix. When
 * both are there they must agree.
 */
export const originalRequest = (req: HeaderReader, fallback?: { method: string; uri: string }): OriginalRequest => {
  const method = agreed(req, METHOD_HEADERS, parseMethod, fallback?.method);
  const path = agreed(req, URI_HEADERS, parsePath, fallback?.uri);
  if (method === undefined || path === undefined) {
    throw new TollgateError('BAD_REQUEST', `The original request is unknown: send ${METHOD_HEADERS[0]} and ${URI_HEADERS[0]}.`);
  }
  return { method, path };
};
