import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetExceededError } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { startValkey, type ValkeyServer } from '@tollgate/testkit/valkey';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * The Valkey store's own debit budget: every debit of a turn that shares a budget shares one
 * timer. Against a Valkey that hangs (SIGSTOP), each of them gives up within its budget;
 * when Valkey wakes, debits are answered again and the late answers change nothing.
 */
describe('Valkey debit budget', () => {
  let valkey: ValkeyServer;
  let store: ValkeyCreditStore;
  let pid: number;
  const subject = 'tpp-debit-budget';

  beforeAll(async () => {
    valkey = await startValkey();
    store = new ValkeyCreditStore({ url: valkey.url });
    await store.connected();
    await store.applyGrant(subject, 'grant-1', 'h', 100);
    await store.debit(subject, 1, 1);
    pid = Number(/process_id:(\d+)/.exec(await store.client.info('server'))?.[1]);
  });
  afterAll(async () => {
    await store.close();
    await valkey.stop();
  });

  it('fails every debit of a turn within its budget while Valkey hangs, and debits again when it wakes', async () => {
    expect(pid).toBeGreaterThan(0);
    const budgetMs = 60;
    process.kill(pid, 'SIGSTOP');
    let outcomes: PromiseSettledResult<unknown>[];
    let elapsed: number;
    try {
      const started = performance.now();
      // Two budgets in one turn: each group gives up at its own time.
      const short = Array.from({ length: 5 }, () => store.debit(subject, 1, 2, budgetMs));
      const long = store.debit(subject, 1, 2, budgetMs * 3);
      outcomes = await Promise.allSettled(short);
      elapsed = performance.now() - started;
      await expect(long).rejects.toBeInstanceOf(BudgetExceededError);
      expect(performance.now() - started).toBeGreaterThanOrEqual(budgetMs * 3 - 5);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof BudgetExceededError)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(budgetMs - 5);
    expect(elapsed).toBeLessThan(budgetMs + 200);

    // The six debits reach Valkey when it wakes; the balance shows them, and new debits are answered.
    await waitFor(async () => (await store.balance(subject)) === 93, { what: 'the late debits to land' });
    await expect(store.debit(subject, 1, 3, budgetMs)).resolves.toEqual({ allowed: true, balance: 92 });
  });
});
