import { randomUUIDv7 } from 'node:crypto';
import { createPricer } from '../config/cost-rules.ts';
import type { ChargeOn, TollgateConfig } from '../config/tollgate-config.ts';
import { epochMinute, type CreditStore, type DebitResult } from '../credits/credit-store.ts';
import { BudgetExceededError, settleWithinPollingOnce } from '../credits/settle-within.ts';
import { TollgateError } from '../errors.ts';
import { buildApiCallEvent, type Decision } from '../events/api-call.ts';
import type { EventEmitter } from '../events/emitter.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics/metrics.ts';
import { debitMetrics } from '../metrics/request-metrics.ts';
import { normalizePath, pricedMethod } from './normalize-path.ts';

/** How a call was decided: `unavailable` is a refusal because the store did not answer under `deny`. */
export type ChargeOutcome = 'debited' | 'free' | 'denied' | 'unverified' | 'unavailable';

/** One call as the charging decision sees it: plain data, one object per request. */
export interface Call {
  readonly subject: string;
  /** The id of its api.call event, and of its refund. */
  readonly id: string;
  /** The one clock reading of the call: it picks the debit minute and stamps the event. */
  readonly timeMs: number;
  readonly minute: number;
  /** The method as sent; the event records it, and HEAD is priced as GET. */
  readonly method: string;
  /** The normalised path (normalize-path.ts): priced, recorded, and forwarded by the gateway. */
  readonly path: string;
  readonly started: number;
  readonly cost: number;
  readonly chargeOn: ChargeOn;
  outcome: ChargeOutcome;
  /** Balance after the debit (as it was, when denied); null when the store did not answer. */
  balance: number | null;
}

/**
 * What a transport does with a decision. Built once per service, not per request: the
 * gateway's runs the proxy, the sidecar's returns the call for its own answer.
 */
export interface ChargeAnswers<C, R> {
  /** The call may go ahead (debited, free or unverified): answer it. */
  allowed(ctx: C, call: Call): Promise<R> | R;
  /**
   * The call is refused: 429 (credits), 503 (store, or events that cannot be recorded) or 400
   * (a path no upstream agrees on). `call` is null when it was refused before it was priced.
   */
  refused(ctx: C, call: Call | null, refusal: TollgateError): R;
  /** The status of an allowed call's answer: its event records it, and a 5xx may be refunded. */
  status(answer: R): number;
  /**
   * Called once an allowed call is settled (recorded, refunded): `remaining` is the balance
   * after a refund, if one ran. Its result is the answer. After a throw from `allowed`,
   * `answer` is undefined, and the error is rethrown after it.
   */
  done?(ctx: C, answer: R | undefined, call: Call, remaining: number | undefined): R;
}

export interface ChargingOptions {
  store: CreditStore;
  config: TollgateConfig;
  /** Where each call's api.call event goes; without one, calls are not metered. */
  emitter?: EventEmitter | undefined;
  /** CloudEvent `source` of the events. */
  source: string;
  /** The `component` label of the decision metrics. */
  component: string;
  /** Clock in epoch milliseconds: one reading per call. */
  now?: (() => number) | undefined;
  logger: Logger;
}

/** The event decision and metric of a refusal: 503 under `deny` is counted apart from 429. */
const STORE_UNAVAILABLE = 'Credits cannot be checked right now; retry shortly.';
const NOT_RECORDABLE = 'Usage cannot be recorded right now (the event spool is full); retry shortly.';

/**
 * The one charging decision of the gateway and the sidecar. Per call: price the normalised
 * path (HEAD as GET), debit the store in one atomic step within the timeout budget, apply the
 * route's store-error policy when it does not answer, let the transport answer an allowed
 * call, refund a failed one under `chargeOn: success`, and record one api.call event with the
 * outcome (never awaited) and the decision metrics. A call whose event could not be recorded
 * is refused before anything is debited. One async function per call, no closures.
 */
export const createCharging = ({ store, config, emitter, source, component, now = Date.now, logger }: ChargingOptions) => {
  const price = createPricer(config);
  const budgetMs = config.credits.storeTimeoutMs;
  const m = debitMetrics(component);
  const refundErrors = metrics.storeErrors.labels('refund', 'error');
  // Each call is open from its clock reading to its event, for a restore's wait (delivery-progress.ts).
  const progress = emitter?.progress;

  const record = (call: Call, status: number, owed: number, decision: Decision): void => {
    m.decision[call.outcome === 'unavailable' ? 'unavailable' : decision].inc();
    if (!emitter) return;
    try {
      emitter.emit(
        buildApiCallEvent({
          source,
          subject: call.subject,
          id: call.id,
          timeMs: call.timeMs,
          data: {
            endpoint: call.path,
            method: call.method,
            status_code: status,
            response_time_ms: Math.round(performance.now() - call.started),
            cost: owed,
            decision,
          },
        }),
      );
    } catch (err) {
      // The store already decided; an event the emitter refused is logged, never silently lost.
      logger.error('api.call event not emitted', { id: call.id, subject: call.subject, decision, cost: owed, error: String(err) });
    } finally {
      progress?.close(call.id);
    }
  };

  /** Gives a failed call's debit back within the budget; the balance left, or undefined when it failed. */
  const refund = async (call: Call): Promise<number | undefined> => {
    try {
      return (await settleWithinPollingOnce(store.refund(call.subject, call.cost, call.minute, call.id), budgetMs)).balance;
    } catch (err) {
      refundErrors.inc();
      logger.warn('refund failed; reconciliation will restore it', { id: call.id, subject: call.subject, cost: call.cost, error: String(err) });
      return undefined;
    }
  };

  /**
   * Records an allowed call once it was answered with `status`. Synchronous unless a refund
   * runs (chargeOn: success and a 5xx): then it resolves to the balance left after it.
   */
  const settle = (call: Call, status: number): Promise<number | undefined> | undefined => {
    const decision: Decision = call.outcome === 'unverified' ? 'unverified' : call.outcome === 'free' ? 'free' : 'debited';
    if (call.cost === 0 || call.chargeOn !== 'success' || status < 500) {
      record(call, status, call.cost, decision);
      return undefined;
    }
    // Never debited when unverified: it owes nothing, and there is nothing to give back.
    if (decision === 'unverified') {
      record(call, status, 0, decision);
      return undefined;
    }
    // The event is the billing truth: the call owes nothing even if this refund fails, and
    // reconciliation then restores the balance from the events.
    record(call, status, 0, 'refunded');
    return refund(call);
  };

  return async function charge<C, R>(ctx: C, subject: string, method: string, target: string, answers: ChargeAnswers<C, R>): Promise<R> {
    if (emitter?.accepting === false) {
      // The event spool is full under the `deny` policy: a call that cannot be metered is not served.
      return answers.refused(ctx, null, new TollgateError('DEPENDENCY_UNAVAILABLE', NOT_RECORDABLE));
    }
    let path: string;
    try {
      path = normalizePath(target);
    } catch (err) {
      if (err instanceof TollgateError) return answers.refused(ctx, null, err);
      throw err;
    }
    const started = performance.now();
    const { cost, chargeOn, onStoreError } = price(pricedMethod(method), path);
    const timeMs = now();
    const call: Call = { subject, id: randomUUIDv7(), timeMs, minute: epochMinute(timeMs), method, path, started, cost, chargeOn, outcome: 'debited', balance: null };
    progress?.open(call.id);

    let debit: DebitResult | undefined;
    try {
      // One poll of grace when the budget runs out: an answer already in the socket is taken.
      debit = await store.debit(subject, cost, call.minute, budgetMs);
      m.debitLatency.ok.observe((performance.now() - started) / 1000);
    } catch (err) {
      m.debitLatency.error.observe((performance.now() - started) / 1000);
      m.debitErrors[err instanceof BudgetExceededError ? 'timeout' : 'error'].inc();
    }

    if (debit === undefined) {
      if (onStoreError === 'deny') {
        call.outcome = 'unavailable';
        record(call, 503, 0, 'denied');
        return answers.refused(ctx, call, new TollgateError('STORE_UNAVAILABLE', STORE_UNAVAILABLE, { cost }));
      }
      // Fail open: the call passes now and owes its cost; reconciliation charges it later.
      call.outcome = 'unverified';
    } else if (!debit.allowed) {
      call.outcome = 'denied';
      call.balance = debit.balance;
      record(call, 429, 0, 'denied');
      const detail = `The balance of ${debit.balance} credits does not cover the cost of ${cost}.`;
      return answers.refused(ctx, call, new TollgateError('INSUFFICIENT_CREDITS', detail, { balance: debit.balance, cost }));
    } else {
      call.outcome = cost === 0 ? 'free' : 'debited';
      call.balance = debit.balance;
    }

    let answer: R;
    try {
      answer = await answers.allowed(ctx, call);
    } catch (err) {
      // A throw is a 500 for pricing and the event, and is rethrown after.
      const refunding = settle(call, 500);
      answers.done?.(ctx, undefined, call, refunding && (await refunding));
      throw err;
    }
    const refunding = settle(call, answers.status(answer));
    const remaining = refunding && (await refunding);
    return answers.done ? answers.done(ctx, answer, call, remaining) : answer;
  };
};

export type Charge = ReturnType<typeof createCharging>;
