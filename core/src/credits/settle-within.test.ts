import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ValkeyCreditStore } from './valkey-store.ts';
import { BudgetExceededError, settleWithin, settleWithinPollingOnce } from './settle-within.ts';

/** Blocks the event loop, as a burst of CPU work under load does. */
const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('settleWithinPollingOnce against a real Valkey', () => {
  let store: ValkeyCreditStore;
  const subject = `tpp-budget-${Date.now()}`;
  beforeAll(async () => {
    store = new ValkeyCreditStore({ url: inject('valkeyUrl') });
    await store.connected();
    await store.applyGrant(subject, 'k', 'h', 10);
    // Loads the debit script, so that each debit below is one round trip.
    await store.debit(subject, 1, 1);
  });
  afterAll(async () => {
    await store.close();
  });

  /**
   * The debit is written (the store pipelines writes on setImmediate), then the loop is
   * blocked past the budget while Valkey answers: the answer is in the socket, unread,
   * when the timer fires.
   */
  const answeredDuringABusyLoop = async <T>(budgeted: (p: Promise<{ allowed: boolean }>) => Promise<T>) => {
    const result = budgeted(store.debit(subject, 1, 1));
    await new Promise((resolve) => setImmediate(resolve));
    busy(120);
    return result;
  };

  it('takes an answer that arrived in time but waited behind a busy event loop', async () => {
    await expect(answeredDuringABusyLoop((p) => settleWithinPollingOnce(p, 30))).resolves.toMatchObject({ allowed: true });
  });

  it('where the plain budget, in the same situation, gives up', async () => {
    await expect(answeredDuringABusyLoop((p) => settleWithin(p, 30))).rejects.toBeInstanceOf(BudgetExceededError);
  });

  it("the store's own budget (debit with budgetMs) also takes an answer that waited behind a busy event loop", async () => {
    const result = store.debit(subject, 1, 1, 30);
    await new Promise((resolve) => setImmediate(resolve));
    busy(120);
    await expect(result).resolves.toMatchObject({ allowed: true });
  });

  it('a debit with a budget that is answered in time resolves as one without', async () => {
    const before = await store.balance(subject);
    const [timed, untimed] = await Promise.all([store.debit(subject, 1, 2, 1_000), store.debit(subject, 1, 2)]);
    expect(timed).toEqual({ allowed: true, balance: before - 1 });
    expect(untimed).toEqual({ allowed: true, balance: before - 2 });
  });

  it('still gives up on a store that does not answer', async () => {
    const started = performance.now();
    await expect(settleWithinPollingOnce(new Promise(() => {}), 30)).rejects.toBeInstanceOf(BudgetExceededError);
    expect(performance.now() - started).toBeLessThan(30 + 100);
  });
});
