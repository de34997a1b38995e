import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import {
  BudgetExceededError,
  TollgateError,
  buildApiCallEvent,
  countIngested,
  createLogger,
  createPricer,
  epochMinute,
  problemResponse,
  rateLimitHeaders,
  withinBudget,
  type CreditStore,
  type DebitResult,
  type Decision,
  type EventEmitter,
  type Logger,
  type TollgateConfig,
} from '@tollgate/core';
import { gatewayMetrics } from './metrics.ts';
import { offerResponseFields, takeResponseFields } from './response-fields.ts';
import { createSubjectResolver, type SubjectFunction } from './subject.ts';

export type { SubjectFunction } from './subject.ts';

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

/** The request as its event records it: read from the context once per request. */
interface Call {
  subject: string;
  id: string;
  timeMs: number;
  method: string;
  path: string;
  started: number;
}

const STORE_UNAVAILABLE = 'Credits cannot be checked right now; retry shortly.';

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

/** The handler behind tollgate: it answers the request once credits covered its cost. */
export type ChargedHandler = (c: Context) => Promise<Response>;

/**
 * Prepaid-credit enforcement, shared by the middleware and the gateway's charged handler.
 * Per request: find the subject, price the route, debit the store in one atomic step within
 * the timeout budget, run the handler only if credits covered the cost, refund a failed
 * call under `chargeOn: success`, and emit one api.call event with the outcome (never
 * awaited). Resolves to tollgate's own answer, or to the handler's with the RateLimit fields.
 */
const createCharge = ({
  store,
  emitter: eventPath,
  config,
  subject: subjectFunction,
  jwtSecret,
  source = 'open-banking-api',
  now = Date.now,
  logger = createLogger('gateway'),
}: TollgateOptions) => {
  const resolveSubject = createSubjectResolver(config.subject, { custom: subjectFunction, jwtSecret });
  const challenge: Record<string, string> = config.subject.jwt && !subjectFunction ? { 'www-authenticate': 'Bearer' } : {};
  const price = createPricer(config);
  const budgetMs = config.credits.storeTimeoutMs;
  const m = gatewayMetrics();
  // Every call's event enters the metering path here: openmeter_events_ingested_total{origin="gateway"}.
  const emitter = countIngested(eventPath, 'gateway');

  const emit = ({ subject, id, timeMs, method, path, started }: Call, status: number, cost: number, decision: Decision) => {
    m.answered(status);
    m.decision[decision === 'denied' && status === 503 ? 'unavailable' : decision].inc();
    try {
      emitter.emit(
        buildApiCallEvent({
          source,
          subject,
          id,
          timeMs,
          data: {
            endpoint: path,
            method,
            status_code: status,
            response_time_ms: Math.round(performance.now() - started),
            cost,
            decision,
          },
        }),
      );
    } catch (err) {
      // The store already decided; an event the emitter refused is logged, never silently lost.
      logger.error('api.call event not emitted', { id, subject, decision, cost, error: String(err) });
    }
  };

  return async function charge(c: Context, handler: ChargedHandler): Promise<Response> {
    const started = performance.now();
    let resolved = resolveSubject(c);
    if (resolved instanceof Promise) resolved = await resolved;
    if (resolved instanceof TollgateError) {
      m.answered(resolved.status);
      return problemResponse(resolved, resolved.status === 401 ? challenge : {});
    }
    const subject = resolved;
    if (emitter.accepting === false) {
      // The event spool is full under the `deny` policy: a call that cannot be metered is not served.
      m.answered(503);
      return problemResponse(new TollgateError('DEPENDENCY_UNAVAILABLE', 'Usage cannot be recorded right now; retry later.'));
    }

    const { method, path } = c.req;
    const { cost, chargeOn, onStoreError } = price(method, path);
    const id = randomUUID();
    const timeMs = now();
    const minute = epochMinute(timeMs);
    const call: Call = { subject, id, timeMs, method, path, started };

    let debit: DebitResult | undefined;
    const debitStarted = performance.now();
    try {
      debit = await store.debit(subject, cost, minute, budgetMs);
      m.debitLatency.ok.observe((performance.now() - debitStarted) / 1000);
    } catch (err) {
      m.debitLatency.error.observe((performance.now() - debitStarted) / 1000);
      m.debitErrors[err instanceof BudgetExceededError ? 'timeout' : 'error'].inc();
    }

    if (debit === undefined) {
      if (onStoreError === 'deny') {
        emit(call, 503, 0, 'denied');
        return problemResponse(new TollgateError('STORE_UNAVAILABLE', STORE_UNAVAILABLE));
      }
      // Fail open: the call passes now and owes its cost; reconciliation charges it later.
      let res: Response;
      try {
        res = await handler(c);
      } catch (err) {
        // A throw is a 500 for pricing and the event, and is rethrown after.
        emit(call, 500, chargeOn === 'success' ? 0 : cost, 'unverified');
        throw err;
      }
      emit(call, res.status, chargeOn === 'success' && res.status >= 500 ? 0 : cost, 'unverified');
      return res;
    }

    if (!debit.allowed) {
      emit(call, 429, 0, 'denied');
      const detail = `The balance of ${debit.balance} credits does not cover the cost of ${cost}.`;
      return problemResponse(new TollgateError('INSUFFICIENT_CREDITS', detail, { balance: debit.balance, cost }), rateLimitHeaders(debit.balance, debit.balance));
    }

    const quota = debit.balance + cost;
    let remaining = debit.balance;
    const fields = rateLimitHeaders(quota, remaining);
    offerResponseFields(c, fields);
    // A throw is a 500 for pricing and the event, and is rethrown after.
    let res: Response | undefined;
    let thrown: { error: unknown } | undefined;
    try {
      res = await handler(c);
    } catch (error) {
      thrown = { error };
    }
    const status = res ? res.status : 500;
    let decision: Decision = cost === 0 ? 'free' : 'debited';
    let owed = cost;
    if (cost > 0 && chargeOn === 'success' && status >= 500) {
      // The event is the billing truth: the call owes nothing even if this refund fails,
      // and reconciliation then restores the balance from the events.
      decision = 'refunded';
      owed = 0;
      try {
        remaining = (await withinBudget(store.refund(subject, cost, minute, id), budgetMs)).balance;
      } catch (err) {
        m.refundErrors.inc();
        logger.warn('refund failed; reconciliation will restore it', { id, subject, cost, error: String(err) });
      }
    }
    emit(call, status, owed, decision);
    if (thrown || !res) throw thrown?.error;
    // A refund changed what is left; otherwise the fields are set here unless the handler took them.
    if (remaining !== debit.balance) return withFields(res, rateLimitHeaders(quota, remaining));
    return takeResponseFields(c) ? withFields(res, fields) : res;
  };
};

/** Prepaid-credit enforcement as Hono middleware, in front of any handler: see createCharge. */
export const tollgate = (options: TollgateOptions): MiddlewareHandler => {
  const charge = createCharge(options);
  return async function tollgate(c, next) {
    let ran = false;
    const res = await charge(c, async () => {
      ran = true;
      await next();
      return c.res;
    });
    // Tollgate's own answer (401, 429, 503) stands in for the handler's.
    if (!ran) return res;
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
export const chargedHandler = (options: TollgateOptions, handler: ChargedHandler): ChargedHandler => {
  const charge = createCharge(options);
  return function tollgate(c) {
    return charge(c, handler);
  };
};
