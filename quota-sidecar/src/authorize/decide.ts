import {
  BudgetExceededError,
  createPricer,
  debitMetrics,
  epochMinute,
  type CreditStore,
  type EventEmitter,
  type Logger,
  type TollgateConfig,
} from '@tollgate/core';
import { acceptsEvents, eventsNotRecordable } from '../events/accepting.ts';
import { decisionEvent } from './decision-event.ts';

/** What the credit check concluded; `balance` is null when the store did not answer. */
export type Decision =
  | { outcome: 'debited' | 'free'; allowed: true; cost: number; balance: number }
  | { outcome: 'denied'; allowed: false; cost: number; balance: number }
  | { outcome: 'unverified'; allowed: true; cost: number; balance: null }
  | { outcome: 'unavailable'; allowed: false; cost: number; balance: null };

export type Decide = (subject: string, method: string, path: string) => Promise<Decision>;

const COMPONENT = 'quota-sidecar';

export interface DecideOptions {
  store: CreditStore;
  config: TollgateConfig;
  /** Where each decision's api.call event goes; without an emitter, decisions are not metered. */
  events?: { emitter: EventEmitter; source: string; logger: Logger } | undefined;
  /** Clock in epoch milliseconds; one reading per decision picks the debit minute and the event time. */
  now?: (() => number) | undefined;
}

/**
 * Prices a call by its route and debits it in one atomic store call. A store that fails or
 * does not answer within the budget gets the route's policy: `allow` lets the call through
 * unverified (reconciliation charges it later), `deny` refuses it. Every decision is metered
 * as one api.call event, stamped with the instant whose minute was debited, so reconciliation
 * finds the debit in the events and sees no drift.
 */
export const createDecide = ({ store, config, events, now = Date.now }: DecideOptions): Decide => {
  const price = createPricer(config);
  const budgetMs = config.credits.storeTimeoutMs;
  // Metric series bound to their labels once rather than per decision.
  const { decision: decisions, debitLatency: latency, debitErrors: storeErrors } = debitMetrics(COMPONENT);

  const decideOnce = async (subject: string, method: string, path: string, timeMs: number): Promise<Decision> => {
    const { cost, onStoreError } = price(method, path);
    const debitStarted = performance.now();
    try {
      // One poll of grace when the budget runs out: an answer already in the socket is taken.
      const result = await store.debit(subject, cost, epochMinute(timeMs), budgetMs);
      latency.ok.observe((performance.now() - debitStarted) / 1000);
      if (!result.allowed) return { outcome: 'denied', allowed: false, cost, balance: result.balance };
      return { outcome: cost === 0 ? 'free' : 'debited', allowed: true, cost, balance: result.balance };
    } catch (err) {
      // Latency is recorded for failures too.
      latency.error.observe((performance.now() - debitStarted) / 1000);
      storeErrors[err instanceof BudgetExceededError ? 'timeout' : 'error'].inc();
      return onStoreError === 'allow'
        ? { outcome: 'unverified', allowed: true, cost, balance: null }
        : { outcome: 'unavailable', allowed: false, cost, balance: null };
    }
  };

  const record = (subject: string, method: string, path: string, timeMs: number, elapsedMs: number, decision: Decision) => {
    if (!events) return;
    try {
      events.emitter.emit(decisionEvent({ source: events.source, subject, method, path, timeMs, elapsedMs, decision }));
    } catch (err) {
      // The store already decided; an event the emitter refused is logged, never silently lost.
      events.logger.error('api.call event not emitted', { subject, decision: decision.outcome, cost: decision.cost, error: String(err) });
    }
  };

  return async function decide(subject, method, path) {
    // A call that could not be recorded is refused before anything is debited.
    if (events && !acceptsEvents(events.emitter)) throw eventsNotRecordable();
    const started = performance.now();
    const timeMs = now();
    const decision = await decideOnce(subject, method, path, timeMs);
    decisions[decision.outcome].inc();
    record(subject, method, path, timeMs, performance.now() - started, decision);
    return decision;
  };
};
