import { TollgateError } from '@tollgate/core';
import { normalizePath } from './normalize-path.ts';

/** Headers in which proxies pass the method and URI of the request being authorised, in order of precedence. */
const METHOD_HEADERS = ['x-original-method', 'x-forwarded-method'] as const; // nginx, Traefik/Envoy
const URI_HEADERS = ['x-original-uri', 'x-envoy-original-path', 'x-forwarded-uri'] as const;

const HTTP_METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
const MAX_URI_LENGTH = 8192;

const first = (headers: Headers, names: readonly string[]) => {
  for (const name of names) {
    const value = headers.get(name);
    if (value) return value;
  }
  return undefined;
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
 * The request a proxy asks about. Headers win; `fallback` is what the request itself says,
 * as with Envoy's ext_authz, which sends the original method and path behind a path prefix.
 */
export const originalRequest = (headers: Headers, fallback?: { method: string; uri: string }): OriginalRequest => {
  const method = first(headers, METHOD_HEADERS) ?? fallback?.method;
  const uri = first(headers, URI_HEADERS) ?? fallback?.uri;
  if (method === undefined || uri === undefined) {
    throw new TollgateError('BAD_REQUEST', `The original request is unknown: send ${METHOD_HEADERS[0]} and ${URI_HEADERS[0]}.`);
  }
  return { method: parseMethod(method), path: parsePath(uri) };
};
