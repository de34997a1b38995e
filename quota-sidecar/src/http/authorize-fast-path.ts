import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hono } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { metrics, problemResponse, TollgateError, type Logger } from '@tollgate/core';
import type { Decide } from '../authorize/decide.ts';
import { answerAuthorize } from '../routes/authorize-json.ts';
import { JSON_MEDIA_TYPE } from './json-request.ts';

const PATH = '/v1/authorize';
const DECIMAL = /^\d+$/;

/** Node's request and response, present when the app is served by @hono/node-server. */
const nodeBindings = (env: unknown): { incoming: IncomingMessage; outgoing: ServerResponse } | undefined => {
  if (typeof env !== 'object' || env === null || !('incoming' in env) || !('outgoing' in env)) return undefined;
  return env as { incoming: IncomingMessage; outgoing: ServerResponse };
};

/** The body as text, decoded like `Request.text()` (UTF-8, a leading BOM dropped). */
const readText = (incoming: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.once('end', () => {
      const body = chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
      const bom = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
      resolve(body.toString('utf8', bom ? 3 : 0));
    });
    incoming.once('error', reject);
    incoming.once('aborted', () => reject(new Error('the client aborted the request body')));
  });

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    throw new TollgateError('BAD_REQUEST', 'The body is not valid JSON.');
  }
};

const writeResponse = async (outgoing: ServerResponse, res: Response): Promise<number> => {
  const body = await res.text();
  const headers: Record<string, string | number> = {};
  res.headers.forEach((value, name) => {
    headers[name] = value;
  });
  headers['content-length'] = Buffer.byteLength(body);
  outgoing.writeHead(res.status, headers);
  outgoing.end(body);
  return res.status;
};

export interface AuthorizeFastPathOptions {
  decide: Decide;
  limitBytes: number;
  logger: Logger;
  service: string;
}

/**
 * `POST /v1/authorize` answered straight on Node's request and response, in front of the
 * Hono app: the route the sidecar serves tens of thousands of times a second skips building
 * a Request, a body stream and a Response, and the router. It takes only the plain case — the
 * exact path without a query, a JSON content type and a declared length within the limit —
 * and answers it as the Hono route does (the same decision code, status, fields and body,
 * errors as problem+json, counted in the same metric). Everything else, and every request not
 * served by @hono/node-server (`app.request` in tests), goes through Hono unchanged.
 */
export const withAuthorizeFastPath = <T extends Hono>(app: T, { decide, limitBytes, logger, service }: AuthorizeFastPathOptions): T => {
  const honoFetch = app.fetch;
  const answered = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'].map((k) => metrics.httpRequests.labels(service, k));

  const authorize = async (incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> => {
    let status: number;
    try {
      const answer = await answerAuthorize(decide, parseJson(await readText(incoming)));
      if ('refused' in answer) {
        status = await writeResponse(outgoing, answer.refused);
      } else {
        const json = JSON.stringify(answer.allowed);
        outgoing.writeHead(200, { 'content-type': 'application/json', ...answer.headers, 'content-length': Buffer.byteLength(json) });
        outgoing.end(json);
        status = 200;
      }
    } catch (err) {
      // As the app's error handler: every error leaves as problem+json; unexpected ones are logged.
      if (!(err instanceof TollgateError)) {
        logger.error('unhandled error', { method: 'POST', path: PATH, error: err instanceof Error ? err.stack : String(err) });
      }
      status = outgoing.headersSent ? 500 : await writeResponse(outgoing, problemResponse(err));
    }
    answered[Math.trunc(status / 100)]?.inc();
  };

  const fetch: Hono['fetch'] = (request, env, executionCtx) => {
    const node = nodeBindings(env);
    if (node) {
      const { incoming, outgoing } = node;
      const length = incoming.headers['content-length'];
      if (
        incoming.method === 'POST' &&
        incoming.url === PATH &&
        JSON_MEDIA_TYPE.test(incoming.headers['content-type'] ?? '') &&
        length !== undefined &&
        DECIMAL.test(length) &&
        Number(length) <= limitBytes
      ) {
        return authorize(incoming, outgoing).then(() => RESPONSE_ALREADY_SENT);
      }
    }
    return honoFetch(request, env, executionCtx);
  };
  return Object.assign(app, { fetch });
};
