import { TollgateError } from '../errors.ts';

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/** Anything the slow path would change or refuse: a query or fragment, an escape, `//`, a dot segment, a backslash, a `;`. */
const NEEDS_WORK = /[?#%\\;]|\/\/|\/\.\.?(?:\/|$)/;
/**
 * Escapes an upstream may decode into a path separator or a string terminator: `%2F` and
 * `%5C` (servers that decode them route `/a%2Fb` as `/a/b`, which this path would price as
 * one segment), and control characters (`%00` ends a C string).
 */
const AMBIGUOUS_ESCAPE = /%(?:2[Ff]|5[Cc]|[01][0-9A-Fa-f]|7[Ff])/;

const ambiguous = (what: string) => new TollgateError('BAD_REQUEST', `The request path must not contain ${what}: upstreams disagree about what it means.`);

/**
 * The path a request is priced by, and the one the gateway forwards. Servers decode and
 * normalise a path before routing it: without the same normalisation here, `/%70ayments`,
 * `//payments` or `/a/../payments` would be priced as another route than the one the upstream
 * serves. So the query is dropped, percent-encoded unreserved characters are decoded
 * (RFC 3986 §6.2.2.2), other escapes upper-cased, repeated slashes merged and dot segments
 * removed (§5.2.4). Encoded slashes and backslashes, raw backslashes, path parameters (`;`)
 * and encoded control characters are refused (400), since upstreams differ on them. A path that needs none of
 * this (the common case) is returned as it is, without allocating.
 */
export const normalizePath = (uri: string): string => {
  if (!NEEDS_WORK.test(uri)) return uri.length === 0 ? '/' : uri;
  const raw = uri.split(/[?#]/, 1)[0] ?? '';
  if (raw.includes('\\')) throw ambiguous('a backslash');
  // Servlet containers route `/payments;jsessionid=1` as `/payments`; other servers as a segment of its own.
  if (raw.includes(';')) throw ambiguous('a ";" (a path parameter)');
  if (AMBIGUOUS_ESCAPE.test(raw)) throw ambiguous('an encoded slash, backslash or control character');
  const decoded = raw.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : escape.toUpperCase();
  });
  const segments: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = /\/\.{0,2}$/.test(decoded) && segments.length > 0 ? '/' : '';
  return `/${segments.join('/')}${trailing}`;
};

/** The method a request is priced as: HEAD is a GET without the body, so it costs what GET costs. */
export const pricedMethod = (method: string): string => (method === 'HEAD' ? 'GET' : method);
