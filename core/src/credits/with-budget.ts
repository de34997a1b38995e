/** Raised when a store call does not answer within its budget. */
export class BudgetExceededError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'BudgetExceededError';
  }
}

/** Settles with `promise`, or rejects with BudgetExceededError after `ms`. The timer is always cleared. */
export const withBudget = async <T>(promise: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BudgetExceededError(ms)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};
