import {
  BudgetExceededError,
  createPricer,
  epochMinute,
  metrics,
  timed,
  withBudget,
  type CreditStore,
  type TollgateConfig,
} from '@tollgate/core';

/** What the credit check concluded; `balance` is null when the store did not answer. */
export type Decision =
  | { outcome: 'debited' | 'free'; allowed: true; cost: number; balance: number }
  | { outcome: 'denied'; allowed: false; cost: number; balance: number }
  | { outcome: 'unverified'; allowed: true; cost: number; balance: null }
  | { outcome: 'unavailable'; allowed: false; cost: number; balance: null };

export type Decide = (subject: string, method: string, path: string) => Promise<Decision>;

const COMPONENT = 'quota-sidecar';

/**
 * Prices a call by its route and debits it in one atomic store call. A store that fails or
 * does not answer within the budget gets the route's policy: `allow` lets the call through
 * unverified (reconciliation charges it later), `deny` refuses it.
 */
export const createDecide = ({ store, config }: { store: CreditStore; config: TollgateConfig }): Decide => {
  const price = createPricer(config);
  const budgetMs = config.credits.storeTimeoutMs;

  const decideOnce = async (subject: string, method: string, path: string): Promise<Decision> => {
    const { cost, onStoreError } = price(method, path);
    try {
      const result = await timed(metrics.storeLatency, 'debit', () =>
        withBudget(store.debit(subject, cost, epochMinute(Date.now())), budgetMs),
      );
      if (!result.allowed) return { outcome: 'denied', allowed: false, cost, balance: result.balance };
      return { outcome: cost === 0 ? 'free' : 'debited', allowed: true, cost, balance: result.balance };
    } catch (err) {
      metrics.storeErrors.inc({ operation: 'debit', reason: err instanceof BudgetExceededError ? 'timeout' : 'error' });
      return onStoreError === 'allow'
        ? { outcome: 'unverified', allowed: true, cost, balance: null }
        : { outcome: 'unavailable', allowed: false, cost, balance: null };
    }
  };

  return async function decide(subject, method, path) {
    const decision = await decideOnce(subject, method, path);
    metrics.creditDecisions.inc({ decision: decision.outcome, component: COMPONENT });
    return decision;
  };
};
