import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hono } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { TollgateError, type Logger } from '@tollgate/core';
import type { TollgateConfig } from '@tollgate/core/config';
import { parseJsonBody, problemResponse } from '@tollgate/core/http';
import { answeredRequests } from '@tollgate/core/metrics';
import type { SubjectResolver } from '@tollgate/core/charging';
import type { Decide } from '../authorize/decide.ts';
import { answerForward } from '../routes/authorize-forward.ts';
import { answerAuthorize, type BodySubject } from '../routes/authorize-json.ts';
import { AUTHORIZE_TOKEN_HEADER, type authorizeCredential } from './authorize-credential.ts';
import { singleFields } from './single-fields.ts';
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

/** An answer as status, fields and body, or a Response to copy (the problem documents). */
type Answer = { status: number; headers: Record<string, string | number>; body?: string } | { refused: Response };

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
  config: TollgateConfig;
  resolveSubject: SubjectResolver;
  subjects: BodySubject;
  checkCredential: ReturnType<typeof authorizeCredential>;
  logger: Logger;
  service: string;
}

/**
 * `POST /v1/authorize` and `GET /v1/authorize` answered straight on Node's request and
 * response, in front of the Hono app: the routes the sidecar serves tens of thousands of times
 * a second skip building a Request, a body stream and a Response, and the router. Only the
 * plain case is taken — the exact path without a query, and for POST a JSON content type and
 * a declared length within the limit — and answered as the Hono routes do (the same decision
 * code, status, fields and body, errors as problem+json, counted in the same metric).
 * Everything else, and every request not served by @hono/node-server (`app.request` in
 * tests), goes through Hono unchanged.
 */
export const withAuthorizeFastPath = <T extends Hono>(app: T, { decide, config, resolveSubject, subjects, checkCredential, logger, service }: AuthorizeFastPathOptions): T => {
  const honoFetch = app.fetch;
  const limitBytes = config.limits.maxBodyBytes;
  const answered = answeredRequests(service);

  /** Writes what `produce` answers; an error leaves as the app's error handler answers it. */
  const respond = async (method: string, outgoing: ServerResponse, produce: () => Promise<Answer>): Promise<void> => {
    let status: number;
    try {
      const answer = await produce();
      if ('refused' in answer) {
        status = await writeResponse(outgoing, answer.refused);
      } else {
        outgoing.writeHead(answer.status, answer.headers);
        outgoing.end(answer.body);
        status = answer.status;
      }
    } catch (err) {
      // Every error leaves as problem+json; anything that is not a TollgateError is logged.
      if (!(err instanceof TollgateError)) {
        logger.error('unhandled error', { method, path: PATH, error: err instanceof Error ? err.stack : String(err) });
      }
      status = outgoing.headersSent ? 500 : await writeResponse(outgoing, problemResponse(err));
    }
    answered(status);
  };

  /** The refusal of a request without the authorize credential, as the Hono guard answers it. */
  const refusedCredential = (incoming: IncomingMessage): Answer | undefined => {
    const presented = incoming.headers[AUTHORIZE_TOKEN_HEADER];
    const refusal = checkCredential(Array.isArray(presented) ? presented.join(', ') : presented);
    return refusal && { refused: problemResponse(refusal) };
  };

  const authorize = async (incoming: IncomingMessage): Promise<Answer> => {
    const refused = refusedCredential(incoming);
    if (refused) return refused;
    const answer = await answerAuthorize(decide, subjects, parseJsonBody(await readText(incoming)));
    if ('refused' in answer) return answer;
    const body = JSON.stringify(answer.allowed);
    return { status: 200, headers: { 'content-type': 'application/json', ...answer.headers, 'content-length': Buffer.byteLength(body) }, body };
  };

  const forwardAuth = async (incoming: IncomingMessage): Promise<Answer> =>
    refusedCredential(incoming) ?? answerForward(decide, resolveSubject, singleFields(incoming));

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
        return respond('POST', outgoing, () => authorize(incoming)).then(() => RESPONSE_ALREADY_SENT);
      }
      if (incoming.method === 'GET' && incoming.url === PATH) {
        return respond('GET', outgoing, () => forwardAuth(incoming)).then(() => RESPONSE_ALREADY_SENT);
      }
    }
    return honoFetch(request, env, executionCtx);
  };
  return Object.assign(app, { fetch });
};
