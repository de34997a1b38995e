/** Raised when a store call does not answer within its budget. */
export class BudgetExceededError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'BudgetExceededError';
  }
}

/** Settles with `promise`, or rejects with BudgetExceededError after `ms`. The timer is always cleared. */
export const settleWithin = async <T>(promise: Promise<T>, ms: number): Promise<T> => {
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

/**
 * The budget of `ms` ran out: poll pending I/O once (one setImmediate), then fail with
 * BudgetExceededError. An answer that arrived in time but sat in the socket behind a busy
 * event loop is read in that poll and settles first.
 */
export const giveUpAfterOnePoll = (fail: (err: BudgetExceededError) => void, ms: number): void => {
  setImmediate(fail, new BudgetExceededError(ms));
};

/**
 * A store answer within `ms`, else BudgetExceededError — like settleWithin, with one
 * difference that matters under load: when the timer fires, pending I/O is polled once
 * (one setImmediate) before giving up. An answer that arrived in time but sat in the socket
 * behind a busy event loop is then taken, instead of turning a healthy store into a 503.
 * The decision is late by at most that one loop turn. The timer is always cleared.
 *
 * Written as one promise and one timer, without Promise.race: it runs once per request.
 */
export const settleWithinPollingOnce = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(giveUpAfterOnePoll, ms, reject, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
