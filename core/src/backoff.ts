/** Exponential back-off delays: 100 ms doubling to a cap. */
export const backoffDelay = (attempt: number, capMs = 5_000): number => Math.min(capMs, 100 * 2 ** Math.min(attempt, 16));

/** Resolves after `ms`, or at once when `signal` aborts. The timer is always cleared. */
export const pause = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
