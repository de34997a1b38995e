import type { Logger } from '@tollgate/core';
import type { TollgateConfig } from '@tollgate/core/config';
import type { CreditStore } from '@tollgate/core/credits';
import { createCharging, type Call, type ChargeAnswers } from '@tollgate/core/charging';
import type { EventEmitter } from '@tollgate/core/events';

/** Prices and debits one call; the answer is the charged call (outcome, cost, and balance, null when the store did not answer). */
export type Decide = (subject: string, method: string, path: string) => Promise<Call>;

export interface DecideOptions {
  store: CreditStore;
  config: TollgateConfig;
  /** Where each decision's api.call event goes; without an emitter, decisions are not metered. */
  events?: { emitter: EventEmitter; source: string } | undefined;
  /** Clock in epoch milliseconds; one reading per decision picks the debit minute and the event time. */
  now?: (() => number) | undefined;
  logger: Logger;
}

/**
 * The sidecar's answers to the shared charging decision: the call itself, which the routes turn
 * into their own answers. The sidecar answers before the call reaches the upstream, so the
 * status its event records is its own (200 allowed, 429 or 503 refused), and nothing it allows
 * is refunded. A call refused before it was priced (events not recordable, a path no upstream
 * agrees on) leaves as the refusal's error.
 */
const SIDECAR_ANSWERS: ChargeAnswers<undefined, Call> = {
  allowed: (_ctx, call) => call,
  refused(_ctx, call, refusal) {
    if (!call) throw refusal;
    return call;
  },
  status: () => 200,
};

/** Prices a call by its route and debits it, as the gateway does (core/src/charging). */
export const createDecide = ({ store, config, events, now, logger }: DecideOptions): Decide => {
  const charge = createCharging({ store, config, emitter: events?.emitter, source: events?.source ?? 'quota-sidecar', component: 'quota-sidecar', now, logger });
  return function decide(subject, method, path) {
    return charge(undefined, subject, method, path, SIDECAR_ANSWERS);
  };
};
