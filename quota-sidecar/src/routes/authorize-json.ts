import { Hono } from 'hono';
import { isValidSubject, TollgateError } from '@tollgate/core';
import type { TollgateConfig } from '@tollgate/core/config';
import { problemResponse } from '@tollgate/core/http';
import type { SubjectResolver } from '@tollgate/core/charging';
import { decisionError, decisionHeaders } from '../authorize/answers.ts';
import type { Decide } from '../authorize/decide.ts';
import { parseMethod, parsePath } from '../authorize/original-request.ts';
import { isObject, readJsonRequest } from '../http/json-request.ts';

/** How the JSON body names the subject: the subject itself, or under `subject.jwt` the caller's token. */
export interface BodySubject {
  /** `subject.jwt` is configured: the body carries `authorization` (the caller's Authorization field), not `subject`. */
  jwt: boolean;
  resolveSubject: SubjectResolver;
}

const subjectOf = async (body: Record<string, unknown>, { jwt, resolveSubject }: BodySubject): Promise<string> => {
  if (!jwt) {
    if (!isValidSubject(body.subject)) {
      throw new TollgateError('BAD_REQUEST', 'subject must be 1–128 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-".');
    }
    return body.subject;
  }
  if (body.subject !== undefined) {
    throw new TollgateError('BAD_REQUEST', 'Subjects come from bearer tokens here: send the caller\'s Authorization field as "authorization", not "subject".');
  }
  const authorization = typeof body.authorization === 'string' ? body.authorization : undefined;
  // The same resolver as the gateway's, reading the one field it needs.
  let subject = resolveSubject({ header: (name) => (name === 'authorization' ? authorization : undefined) });
  if (subject instanceof Promise) subject = await subject;
  if (subject instanceof TollgateError) throw subject;
  return subject;
};

/** The answer to `POST /v1/authorize`: the JSON document of an allowed call, or the refusal. */
export type AuthorizeAnswer =
  | { allowed: { allowed: true; cost: number; balance: number | null; decision: string }; headers: Record<string, string> }
  | { refused: Response };

/**
 * Decides a parsed `POST /v1/authorize` body, `{subject, method, path}` (or `{authorization,
 * method, path}` under `subject.jwt`). Throws TollgateError for a malformed body or a decision
 * that cannot be made, as the route does; shared by the route and the server's fast path.
 */
export const answerAuthorize = async (decide: Decide, subjects: BodySubject, body: unknown): Promise<AuthorizeAnswer> => {
  if (!isObject(body)) throw new TollgateError('BAD_REQUEST', 'The body must be a JSON object {subject, method, path}.');
  const method = parseMethod(body.method);
  const path = parsePath(body.path);
  const decision = await decide(await subjectOf(body, subjects), method, path);
  const headers = decisionHeaders(decision);
  const refusal = decisionError(decision);
  if (refusal) return { refused: problemResponse(refusal, headers) };
  return { allowed: { allowed: true, cost: decision.cost, balance: decision.balance, decision: decision.outcome }, headers };
};

/** `POST /v1/authorize`: price and debit one call for gateways that speak JSON. */
export const authorizeJsonRoutes = ({ decide, config, subjects }: { decide: Decide; config: TollgateConfig; subjects: BodySubject }) =>
  new Hono().post('/v1/authorize', async (c) => {
    const answer = await answerAuthorize(decide, subjects, await readJsonRequest(c.req.raw, config.limits.maxBodyBytes));
    if ('refused' in answer) return answer.refused;
    return c.json(answer.allowed, 200, answer.headers);
  });
