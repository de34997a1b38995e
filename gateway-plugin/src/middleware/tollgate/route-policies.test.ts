import { describe, expect, it } from 'vitest';
import { BudgetExceededError, MemoryCreditStore, epochMinute, type CreditStore } from '@tollgate/core/credits';
import { decisionCount, middlewareApp as setup, NOW } from '@tollgate/testkit/middleware-app';

/** The route and credit policies of the middleware: free routes, charging on success, and a store that does not answer. */
describe('tollgate middleware', () => {
  describe('cost-0 routes', () => {
    const config = { routes: [{ method: 'GET', path: '/status', cost: 0 }] };

    it('checks without charging and records the decision free', async () => {
      const t = setup(config);
      const res = await t.call('/status');
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"credits";q=0');
      expect(res.headers.get('ratelimit')).toBe('"credits";r=0');
      expect(await t.store.realtimeBuckets(t.subject)).toEqual(new Map());
      expect((await t.delivered())[0]?.data).toMatchObject({ cost: 0, decision: 'free', status_code: 200 });
    });

    it('denies when reconciliation left the balance negative', async () => {
      const t = setup(config);
      await t.grant(-2);
      const res = await t.call('/status');
      expect(res.status).toBe(429);
      expect(await res.json()).toMatchObject({ balance: -2, cost: 0 });
      expect(res.headers.get('ratelimit')).toBe('"credits";r=0');
      expect(t.handled()).toBe(0);
    });
  });

  describe('chargeOn: success', () => {
    const config = { credits: { chargeOn: 'success' } };

    it('refunds a 5xx answer in the debit minute, and the event owes nothing', async () => {
      const t = setup(config);
      await t.grant(5);
      const res = await t.call('/down');
      expect(res.status).toBe(503);
      expect(res.headers.get('ratelimit-policy')).toBe('"credits";q=5');
      expect(res.headers.get('ratelimit')).toBe('"credits";r=5');
      expect(await t.store.balance(t.subject)).toBe(5);
      expect(await t.store.realtimeBuckets(t.subject)).toEqual(new Map());
      const [event] = await t.delivered();
      expect(event?.data).toMatchObject({ status_code: 503, cost: 0, decision: 'refunded' });
    });

    it('refunds when the handler throws', async () => {
      const t = setup(config);
      await t.grant(5);
      const res = await t.call('/throws');
      expect(res.status).toBe(500);
      expect(await t.store.balance(t.subject)).toBe(5);
      expect((await t.delivered())[0]?.data).toMatchObject({ status_code: 500, cost: 0, decision: 'refunded' });
    });

    it('keeps the charge of a successful call', async () => {
      const t = setup(config);
      await t.grant(5);
      expect((await t.call('/accounts')).status).toBe(200);
      expect(await t.store.balance(t.subject)).toBe(4);
      expect((await t.delivered())[0]?.data).toMatchObject({ cost: 1, decision: 'debited' });
    });
  });

  it('does not refund a 5xx answer under chargeOn: request (the default)', async () => {
    const t = setup();
    await t.grant(5);
    expect((await t.call('/down')).status).toBe(503);
    expect(await t.store.balance(t.subject)).toBe(4);
    expect(await t.store.realtimeBuckets(t.subject)).toEqual(new Map([[epochMinute(NOW), 1]]));
    expect((await t.delivered())[0]?.data).toMatchObject({ status_code: 503, cost: 1, decision: 'debited' });
  });

  describe('when the store does not answer within the budget', () => {
    /**
     * A store whose debits get no answer, as when Valkey hangs; everything else is the memory
     * store. As every store does, it gives up with BudgetExceededError when the debit's budget
     * runs out (the Valkey store's own budget is tested against a Valkey stopped with SIGSTOP).
     */
    class StalledStore extends MemoryCreditStore {
      override debit(_subject: string, _cost: number, _minute: number, budgetMs?: number): Promise<never> {
        return new Promise<never>((_, reject) => {
          if (budgetMs !== undefined) setTimeout(() => reject(new BudgetExceededError(budgetMs)), budgetMs);
        });
      }
    }
    const stalled = (): CreditStore => new StalledStore();
    const config = (onStoreError: string) => ({ credits: { storeTimeoutMs: 30 }, routes: [{ method: 'GET', path: '/accounts', onStoreError }] });

    it('denies with 503 problem+json within the budget on a deny route', async () => {
      const t = setup(config('deny'), { store: stalled() });
      const before = await decisionCount('unavailable');
      const started = performance.now();
      const res = await t.call('/accounts');
      expect(performance.now() - started).toBeLessThan(30 + 200);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
      expect(t.handled()).toBe(0);
      expect((await t.delivered())[0]?.data).toMatchObject({ status_code: 503, cost: 0, decision: 'denied' });
      expect(await decisionCount('unavailable')).toBe(before + 1);
    });

    it('lets the call pass on an allow route, owing its cost as unverified', async () => {
      const t = setup(config('allow'), { store: stalled() });
      const before = await decisionCount('unverified');
      const res = await t.call('/accounts');
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit')).toBeNull();
      expect(t.handled()).toBe(1);
      expect((await t.delivered())[0]?.data).toMatchObject({ status_code: 200, cost: 1, decision: 'unverified' });
      expect(await decisionCount('unverified')).toBe(before + 1);
    });
  });
});
