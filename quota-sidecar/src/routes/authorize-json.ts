import { Hono } from 'hono';
import { isValidSubject, problemResponse, TollgateError, type TollgateConfig } from '@tollgate/core';
import { decisionError, decisionHeaders } from '../authorize/answers.ts';
import type { Decide } from '../authorize/decide.ts';
import { parseMethod, parsePath } from '../authorize/original-request.ts';
import { isObject, readJsonRequest } from '../http/json-request.ts';

const parseAuthorizeBody = (body: unknown) => {
  if (!isObject(body)) throw new TollgateError('BAD_REQUEST', 'The body must be a JSON object {subject, method, path}.');
  if (!isValidSubject(body.subject)) {
    throw new TollgateError('BAD_REQUEST', 'subject must be 1–128 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-".');
  }
  return { subject: body.subject, method: parseMethod(body.method), path: parsePath(body.path) };
};

/** The answer to `POST /v1/authorize`: the JSON document of an allowed call, or the refusal. */
export type AuthorizeAnswer =
  | { allowed: { allowed: true; cost: number; balance: number | null; decision: string }; headers: Record<string, string> }
  | { refused: Response };

/**
 * Decides a parsed `POST /v1/authorize` body. Throws TollgateError for a malformed body or a
 * decision that cannot be made, as the route does; shared by the route and the server's fast path.
 */
export const answerAuthorize = async (decide: Decide, body: unknown): Promise<AuthorizeAnswer> => {
  const { subject, method, path } = parseAuthorizeBody(body);
  const decision = await decide(subject, method, path);
  const headers = decisionHeaders(decision);
  const refusal = decisionError(decision);
  if (refusal) return { refused: problemResponse(refusal, headers) };
  return { allowed: { allowed: true, cost: decision.cost, balance: decision.balance, decision: decision.outcome }, headers };
};

/** `POST /v1/authorize` `{subject, method, path}`: price and debit one call for gateways that speak JSON. */
export const authorizeJsonRoutes = ({ decide, config }: { decide: Decide; config: TollgateConfig }) =>
  new Hono().post('/v1/authorize', async (c) => {
    const answer = await answerAuthorize(decide, await readJsonRequest(c.req.raw, config.limits.maxBodyBytes));
    if ('refused' in answer) return answer.refused;
    return c.json(answer.allowed, 200, answer.headers);
  });
