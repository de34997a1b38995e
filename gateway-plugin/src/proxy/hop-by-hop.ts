/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) describe one connection, not the message, so a proxy
 * must not forward them: the fixed set below, and every field the Connection header names.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const isHopByHop = (name: string): boolean => HOP_BY_HOP.has(name) || name.startsWith('proxy-');

/** Lower-case field names listed in a Connection header value ("close, x-foo"). */
const connectionListed = (value: string | string[] | null | undefined): Set<string> | undefined => {
  // The common values name no field: spare the Set.
  if (!value || value === 'keep-alive' || value === 'close') return undefined;
  const listed = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = part.trim().toLowerCase();
    if (name) listed.add(name);
  }
  return listed;
};

/**
 * Not forwarded upstream besides the hop-by-hop fields: `host` (undici sets the upstream's
 * authority), `expect` (the gateway's own server has answered 100-continue), and the method
 * overrides some frameworks honour: the call was priced by its method, and the upstream must
 * not be told to run another (a GET priced at 1 run as POST /payments).
 */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'host', 'expect', 'x-http-method-override', 'x-http-method', 'x-method-override']);

const forwardable = (lowerName: string, listed: Set<string> | undefined): boolean =>
  !NOT_FORWARDED.has(lowerName) && !lowerName.startsWith('proxy-') && !listed?.has(lowerName) && lowerName[0] !== ':';

/** The request fields to send upstream, as undici's flat [name, value, …] list. */
export const forwardRequestHeaders = (headers: Headers): string[] => {
  const listed = connectionListed(headers.get('connection'));
  const out: string[] = [];
  for (const [name, value] of headers) {
    if (forwardable(name, listed)) out.push(name, value);
  }
  return out;
};

/**
 * The same from node's raw header lines ([name, value, …] as received), which spares
 * building a Headers object per request; repeated lines stay separate.
 */
export const forwardRawRequestHeaders = (raw: readonly string[]): string[] => {
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      for (const n of connectionListed(raw[i + 1]) ?? []) (listed ??= new Set()).add(n);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (forwardable(name.toLowerCase(), listed)) out.push(name, raw[i + 1] ?? '');
  }
  return out;
};

export type UpstreamHeaders = Record<string, string | string[] | undefined>;

/**
 * The response fields to send to the client (undici gives them lower-cased). A plain record
 * when every field has one value (the server writes it without building a Headers); pairs
 * when a field repeats, so that each Set-Cookie stays a line of its own.
 */
export const forwardResponseHeaders = (headers: UpstreamHeaders): Record<string, string> | [string, string][] => {
  const listed = connectionListed(headers.connection);
  const out: Record<string, string> = {};
  let repeated: [string, string][] | undefined;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || isHopByHop(name) || listed?.has(name)) continue;
    if (typeof value === 'string') out[name] = value;
    else (repeated ??= []).push(...value.map((v): [string, string] => [name, v]));
  }
  return repeated ? [...Object.entries(out), ...repeated] : out;
};
