import type { Context, MiddlewareHandler } from 'hono';
import { TollgateError, createLogger, type Logger } from '@tollgate/core';
import type { TollgateConfig } from '@tollgate/core/config';
import { problemResponse, rateLimitHeaders } from '@tollgate/core/http';
import { answeredRequests, countIngested } from '@tollgate/core/metrics';
import type { CreditStore } from '@tollgate/core/credits';
import { checkedSubject, createCharging, createSubjectResolver, type Call, type ChargeAnswers, type SubjectResolver } from '@tollgate/core/charging';
import type { EventEmitter } from '@tollgate/core/events';
import { offerResponseFields, takeResponseFields } from './response-fields.ts';

export type SubjectFunction = (c: Context) => string | undefined | Promise<string | undefined>;

export interface TollgateOptions {
  store: CreditStore;
  emitter: EventEmitter;
  config: TollgateConfig;
  /** Finds the subject instead of the configured header or bearer JWT. */
  subject?: SubjectFunction;
  /** HS256 key for bearer JWTs when the configuration names no JWKS URL. */
  jwtSecret?: string;
  /** CloudEvent `source` of the api.call events. */
  source?: string;
  /** Clock in epoch milliseconds; one reading per request picks the debit minute and the event time. */
  now?: () => number;
  logger?: Logger;
}

/**
 * The handler behind tollgate: it answers the request once credits covered its cost. `call`
 * is the charged call: a proxy forwards `call.path`, the path that was priced.
 */
export type ChargedHandler = (c: Context, call: Call) => Promise<Response>;

/** The response with `fields` set: the same response, or a copy when its headers are immutable (a fetch() response). */
const withFields = (res: Response, fields: Record<string, string>): Response => {
  const entries = Object.entries(fields);
  try {
    for (const [name, value] of entries) res.headers.set(name, value);
    return res;
  } catch {
    const copy = new Response(res.body, res);
    for (const [name, value] of entries) copy.headers.set(name, value);
    return copy;
  }
};

/** Path and query of a request URL (absolute), without parsing it. */
const pathOf = (url: string): string => {
  const slash = url.indexOf('/', url.indexOf('://') + 3);
  return slash === -1 ? '/' : url.slice(slash);
};

/**
 * How the gateway answers the shared charging decision (core/src/charging): an allowed call
 * runs the handler with the RateLimit fields offered to it; a refusal is problem+json; every
 * answer is counted once by its status.
 */
const gatewayAnswers = (handler: ChargedHandler): ChargeAnswers<Context, Response> => {
  const answered = answeredRequests('gateway');
  return {
    allowed(c, call) {
      // A call the store did not answer for (unverified) has no balance to report.
      if (call.balance !== null) offerResponseFields(c, rateLimitHeaders(call.balance + call.cost, call.balance));
      return handler(c, call);
    },
    refused(_c, call, refusal) {
      answered(refusal.status);
      if (call?.outcome === 'denied' && call.balance !== null) return problemResponse(refusal, rateLimitHeaders(call.balance, call.balance));
      return problemResponse(refusal);
    },
    status: (res) => res.status,
    done(c, res, call, remaining) {
      answered(res ? res.status : 500);
      // The fields are set here unless the handler took them; a refund changed what is left.
      const fields = takeResponseFields(c);
      if (!res || call.balance === null) return res ?? problemResponse(undefined);
      if (remaining !== undefined && remaining !== call.balance) return withFields(res, rateLimitHeaders(call.balance + call.cost, remaining));
      return fields ? withFields(res, fields) : res;
    },
  };
};

/**
 * Prepaid-credit enforcement, shared by the middleware and the gateway's charged handler:
 * find the subject (401 without one), then the shared charging decision prices the request,
 * debits it and records it; the handler runs only if credits covered the cost.
 */
const createCharge = (
  { store, emitter, config, subject: subjectFunction, jwtSecret, source = 'open-banking-api', now, logger = createLogger('gateway') }: TollgateOptions,
  handler: ChargedHandler,
) => {
  const resolveSubject: (c: Context) => ReturnType<SubjectResolver> = subjectFunction
    ? async (c) => checkedSubject(await subjectFunction(c), 'the subject function')
    : ((resolver: SubjectResolver) => (c: Context) => resolver(c.req))(createSubjectResolver(config.subject, jwtSecret));
  const challenge: Record<string, string> = config.subject.jwt && !subjectFunction ? { 'www-authenticate': 'Bearer' } : {};
  // Every call's event enters the metering path here: openmeter_events_ingested_total{origin="gateway"}.
  const charge = createCharging({ store, config, emitter: countIngested(emitter, 'gateway'), source, component: 'gateway', now, logger });
  const answers = gatewayAnswers(handler);
  const answered = answeredRequests('gateway');

  const unauthorized = (refusal: TollgateError): Response => {
    answered(refusal.status);
    return problemResponse(refusal, refusal.status === 401 ? challenge : {});
  };
  const afterSubject = (c: Context, subject: string | TollgateError): Response | Promise<Response> =>
    subject instanceof TollgateError ? unauthorized(subject) : charge(c, subject, c.req.method, pathOf(c.req.url), answers);

  return function tollgate(c: Context): Response | Promise<Response> {
    const subject = resolveSubject(c);
    // A header subject is found synchronously: no promise is made for it.
    return subject instanceof Promise ? subject.then((s) => afterSubject(c, s)) : afterSubject(c, subject);
  };
};

/** Prepaid-credit enforcement as Hono middleware, in front of any handler: see createCharge. */
export const tollgate = (options: TollgateOptions): MiddlewareHandler => {
  const charge = createCharge(options, async (c) => {
    const next = c.get('tollgateNext');
    c.set('tollgateNext', undefined);
    if (next) await next();
    return c.res;
  });
  return async function tollgate(c, next) {
    c.set('tollgateNext', next);
    const res = await charge(c);
    // The handler did not run: tollgate's own answer (401, 429, 503) stands in for it.
    if (c.get('tollgateNext')) return res;
    // The handler's answer, or a copy of it that could take the RateLimit fields.
    if (res !== c.res) c.res = res;
    return undefined;
  };
};

/**
 * The same enforcement wrapped around one handler, as a single Hono handler: the gateway's
 * route then has one handler, which Hono dispatches without composing a middleware chain,
 * and whose answer is the handler's Response, without going through `c.res`.
 */
export const chargedHandler = (options: TollgateOptions, handler: ChargedHandler): ((c: Context) => Response | Promise<Response>) =>
  createCharge(options, handler);

declare module 'hono' {
  interface ContextVariableMap {
    /** The middleware's `next`, for the handler tollgate runs once credits covered the cost. */
    tollgateNext: (() => Promise<void>) | undefined;
  }
}
