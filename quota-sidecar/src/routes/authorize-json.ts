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

/** `POST /v1/authorize` `{subject, method, path}`: price and debit one call for gateways that speak JSON. */
export const authorizeJsonRoutes = ({ decide, config }: { decide: Decide; config: TollgateConfig }) =>
  new Hono().post('/v1/authorize', async (c) => {
    const { subject, method, path } = parseAuthorizeBody(await readJsonRequest(c.req.raw, config.limits.maxBodyBytes));
    const decision = await decide(subject, method, path);
    const headers = decisionHeaders(decision);
    const refusal = decisionError(decision);
    if (refusal) return problemResponse(refusal, headers);
    return c.json({ allowed: true, cost: decision.cost, balance: decision.balance, decision: decision.outcome }, 200, headers);
  });
