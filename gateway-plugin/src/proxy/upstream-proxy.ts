import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Context } from 'hono';
import { Pool } from 'undici';
import { TollgateError } from '@tollgate/core';
import { problemResponse } from '@tollgate/core/http';
import { metrics } from '@tollgate/core/metrics';
import type { Call } from '@tollgate/core/charging';
import { forward } from './forward.ts';
import { takeResponseFields } from '../middleware/tollgate/response-fields.ts';
import { forwardRawRequestHeaders, forwardRequestHeaders, forwardResponseHeaders } from './hop-by-hop.ts';

export const INTERACTION_ID_HEADER = 'x-fapi-interaction-id';

export interface UpstreamProxyOptions {
  upstreamUrl: string;
  /** Time to wait for the upstream's response headers before answering 504. */
  timeoutMs?: number;
  /** Upper bound of keep-alive connections to the upstream; unbounded by default. */
  connections?: number | null;
}

export interface UpstreamProxy {
  /**
   * The Hono handler that forwards the request and streams the answer back. Behind tollgate it
   * is given the charged call, and forwards the path that was priced (`call.path`, normalised)
   * with the request's query; without one, the path as it came.
   */
  handler: (c: Context, call?: Call) => Promise<Response>;
  close(): Promise<void>;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const isTimeout = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && 'code' in err && TIMEOUT_CODES.has(String(err.code));

/** Path and query of an absolute URL, without parsing it. */
const pathAndQuery = (url: string): string => {
  const slash = url.indexOf('/', url.indexOf('://') + 3);
  return slash === -1 ? '/' : url.slice(slash);
};

/** The query of a URL with its `?`, or ''. */
const queryOf = (url: string): string => {
  const question = url.indexOf('?');
  return question === -1 ? '' : url.slice(question);
};

/** Node's request when served by @hono/node-server; undefined for a Request made in process. */
const incomingOf = (c: Context): IncomingMessage | undefined => {
  const env: unknown = c.env;
  return typeof env === 'object' && env !== null && 'incoming' in env && env.incoming instanceof IncomingMessage ? env.incoming : undefined;
};

/**
 * The request body to stream upstream, or null. A message from the HTTP server has a body
 * only when it is framed (Content-Length > 0 or Transfer-Encoding); a Request made in
 * process (tests, `app.request`) carries no framing fields, so its body is taken as is.
 */
const requestBody = (req: Request, fromServer: boolean): Readable | null => {
  if (req.method === 'GET' || req.method === 'HEAD') return null;
  const length = req.headers.get('content-length');
  const framed = length !== null ? length !== '0' : req.headers.has('transfer-encoding');
  if (!framed && (fromServer || length === '0')) return null;
  return req.body ? Readable.fromWeb(req.body) : null;
};

/** Forwards requests to one upstream over a keep-alive undici Pool; bodies stream both ways. */
export const createUpstreamProxy = ({ upstreamUrl, timeoutMs = 30_000, connections = null }: UpstreamProxyOptions): UpstreamProxy => {
  const base = new URL(upstreamUrl);
  const prefix = base.pathname.replace(/\/$/, '');
  const pool = new Pool(base.origin, {
    connections,
    headersTimeout: timeoutMs,
    connectTimeout: Math.min(timeoutMs, 10_000),
    keepAliveTimeout: 10_000,
  });
  const latency = {
    ok: metrics.upstreamLatency.labels('ok'),
    error: metrics.upstreamLatency.labels('error'),
    timeout: metrics.upstreamLatency.labels('timeout'),
  };

  const handler = async function proxy(c: Context, call?: Call): Promise<Response> {
    const req = c.req.raw;
    const incoming = incomingOf(c);
    const sent = req.headers.get(INTERACTION_ID_HEADER);
    const interactionId = sent ?? randomUUID();
    const headers = incoming ? forwardRawRequestHeaders(incoming.rawHeaders) : forwardRequestHeaders(req.headers);
    if (sent === null) headers.push(INTERACTION_ID_HEADER, interactionId);

    const started = performance.now();
    let outcome: keyof typeof latency = 'error';
    try {
      const res = await forward(pool, {
        method: req.method,
        path: call ? prefix + call.path + queryOf(req.url) : prefix + pathAndQuery(req.url),
        headers,
        body: requestBody(req, incoming !== undefined),
        signal: req.signal,
      });
      outcome = 'ok';
      const out = forwardResponseHeaders(res.headers);
      const fields = takeResponseFields(c);
      if (Array.isArray(out)) {
        const added: Record<string, string> = { ...fields, [INTERACTION_ID_HEADER]: interactionId };
        const kept = out.filter(([name]) => !(name in added));
        kept.push(...Object.entries(added));
        return new Response(res.body, { status: res.status, headers: kept });
      }
      // The common case, every field once: the added fields replace the upstream's of the same name.
      if (fields) Object.assign(out, fields);
      out[INTERACTION_ID_HEADER] = interactionId;
      return new Response(res.body, { status: res.status, headers: out });
    } catch (err) {
      const echo = { [INTERACTION_ID_HEADER]: interactionId };
      if (isTimeout(err)) {
        outcome = 'timeout';
        return problemResponse(new TollgateError('UPSTREAM_TIMEOUT', `The upstream did not answer within ${timeoutMs} ms.`), echo);
      }
      return problemResponse(new TollgateError('UPSTREAM_ERROR', 'The upstream could not be reached.'), echo);
    } finally {
      latency[outcome].observe((performance.now() - started) / 1000);
    }
  };

  return { handler, close: () => pool.close() };
};
