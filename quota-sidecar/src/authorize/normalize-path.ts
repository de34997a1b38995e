const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * The path a request is priced by. Gateways pass the raw request URI, while upstreams decode
 * and normalise it: without the same normalisation here, `/%70ayments` or `/a/../payments`
 * would be priced as another route than the one the upstream serves. So the query is dropped,
 * percent-encoded unreserved characters are decoded (RFC 3986 §6.2.2.2), repeated slashes are
 * merged and dot segments removed (§5.2.4). Reserved escapes such as `%2F` stay encoded.
 */
export const normalizePath = (uri: string): string => {
  const raw = uri.split(/[?#]/, 1)[0] ?? '';
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
