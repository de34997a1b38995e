import { BudgetExceededError, withBudget } from '@tollgate/core';

/**
 * A store answer within `ms`, else BudgetExceededError — like core's withBudget, with one
 * difference that matters under load: when the timer fires, pending I/O is polled once
 * (one setImmediate) before giving up. An answer that arrived in time but sat in the socket
 * behind a busy event loop is then taken, instead of turning a healthy store into a 503.
 * The decision is late by at most that one loop turn.
 */
export const withinBudget = async <T>(promise: Promise<T>, ms: number): Promise<T> => {
  try {
    return await withBudget(promise, ms);
  } catch (err) {
    if (!(err instanceof BudgetExceededError)) throw err;
    return await Promise.race([promise, new Promise<never>((_, reject) => setImmediate(reject, err))]);
  }
};
