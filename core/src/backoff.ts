/**
 * Exponential back-off, the one used by every retry loop: `baseMs` doubling with each attempt
 * (0 is the first retry) up to `capMs`.
 */
export const backoffDelay = (attempt: number, { baseMs = 100, capMs = 5_000 }: { baseMs?: number; capMs?: number } = {}): number =>
  Math.min(capMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 16));

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
