import { randomUUID } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { parseTollgateConfig } from '@tollgate/core/config';
import { metrics } from '@tollgate/core/metrics';
import { BudgetExceededError, MemoryCreditStore, epochMinute, type CreditStore } from '@tollgate/core/credits';
import { InProcessBus, type ApiCallData, type EventEmitter } from '@tollgate/core/events';
import { tollgate, type TollgateOptions } from './index.ts';

// Each clock reading is a minute after the previous: reading it twice in one request would split
// the debit minute from the event time.
const NOW = Date.UTC(2026, 0, 15, 10, 30, 59, 987);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const setup = (configDoc: Record<string, unknown> = {}, options: Partial<TollgateOptions> = {}) => {
  const store = options.store ?? new MemoryCreditStore({ restored: true });
  const bus = new InProcessBus();
  const events: CloudEventV1<ApiCallData>[] = [];
  bus.subscribe((batch) => {
    events.push(...(batch as CloudEventV1<ApiCallData>[]));
  });
  let handled = 0;
  let clock = NOW;
  const app = new Hono();
  // Hono's default error handler logs the error; the test only needs the 500.
  app.onError((_err, c) => c.text('failed', 500));
  app.use(tollgate({ store, emitter: bus, config: parseTollgateConfig(configDoc), now: () => {
    const t = clock;
    clock += 60_000;
    return t;
  }, logger: silent, ...options }));
  app.get('/accounts', (c) => {
    handled++;
    return c.json({ Data: { Account: [] } });
  });
  app.post('/payments', (c) => {
    handled++;
    return c.json({ ok: true }, 201);
  });
  app.get('/status', (c) => {
    handled++;
    return c.text('free');
  });
  app.get('/down', (c) => {
    handled++;
    return c.text('upstream down', 503);
  });
  app.get('/throws', () => {
    handled++;
    throw new Error('handler failed');
  });
  const subject = `tpp-${randomUUID()}`;
  const grant = async (amount: number, who = subject) => {
    const key = randomUUID();
    await store.claimGrant(who, key, 'h');
    await store.applyGrant(who, key, 'h', amount);
  };
  const call = (path: string, init: RequestInit = {}, who: string | null = subject) =>
    app.request(`http://gateway.test${path}`, { ...init, headers: { ...(who ? { 'x-tpp-id': who } : {}), ...(init.headers as Record<string, string>) } });
  const delivered = async () => {
    await bus.flush();
    return events;
  };
  return { app, store, bus, subject, grant, call, delivered, handled: () => handled };
};

const decisionCount = async (decision: string) =>
  (await metrics.creditDecisions.get()).values.find((v) => v.labels.decision === decision && v.labels.component === 'gateway')?.value ?? 0;

const answeredCount = async (status: string) =>
  (await metrics.httpRequests.get()).values.find((v) => v.labels.service === 'gateway' && v.labels.status === status)?.value ?? 0;

describe('tollgate middleware', () => {
  it('debits the cost, runs the handler, and sends RateLimit fields with the balance seen and left', async () => {
    const t = setup();
    await t.grant(5);
    const res = await t.call('/accounts');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ Data: { Account: [] } });
    expect(res.headers.get('ratelimit-policy')).toBe('"credits";q=5');
    expect(res.headers.get('ratelimit')).toBe('"credits";r=4');
    expect(await t.store.balance(t.subject)).toBe(4);
    expect(t.handled()).toBe(1);
  });

  it('emits one api.call event per request whose time is the clock reading that chose the debit minute', async () => {
    const t = setup();
    await t.grant(5);
    await t.call('/accounts');
    const [event, ...rest] = await t.delivered();
    expect(rest).toHaveLength(0);
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'api.call',
      source: 'open-banking-api',
      subject: t.subject,
      time: new Date(NOW).toISOString(),
      data: { endpoint: '/accounts', method: 'GET', status_code: 200, cost: 1, decision: 'debited' },
    });
    expect(event?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isInteger(event?.data?.response_time_ms)).toBe(true);
    expect(await t.store.realtimeBuckets(t.subject)).toEqual(new Map([[epochMinute(NOW), 1]]));
    expect(epochMinute(Date.parse(event?.time ?? ''))).toBe(epochMinute(NOW));
  });

  it('counts every answer by status class, those without a subject included', async () => {
    const t = setup();
    await t.grant(1);
    const before = { ok: await answeredCount('2xx'), client: await answeredCount('4xx') };
    await t.call('/accounts');
    await t.call('/accounts');
    await t.call('/accounts', {}, null);
    expect(await answeredCount('2xx')).toBe(before.ok + 1);
    expect(await answeredCount('4xx')).toBe(before.client + 2);
  });

  it('counts each event it emits in openmeter_events_ingested_total{origin="gateway"}, refused calls included', async () => {
    const ingested = async () => (await metrics.eventsIngested.get()).values.find((v) => v.labels.origin === 'gateway')?.value ?? 0;
    const t = setup();
    await t.grant(1);
    const before = await ingested();
    await t.call('/accounts');
    await t.call('/accounts');
    expect(await t.delivered()).toHaveLength(2);
    expect(await ingested()).toBe(before + 2);
  });

  it('gives every request its own event id', async () => {
    const t = setup();
    await t.grant(20);
    await Promise.all(Array.from({ length: 20 }, () => t.call('/accounts')));
    const events = await t.delivered();
    expect(events).toHaveLength(20);
    expect(new Set(events.map((e) => e.id)).size).toBe(20);
  });

  it('answers 429 problem+json naming balance and cost, without running the handler', async () => {
    const t = setup({ routes: [{ method: 'POST', path: '/payments', cost: 5 }] });
    await t.grant(3);
    const res = await t.call('/payments', { method: 'POST' });
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('ratelimit-policy')).toBe('"credits";q=3');
    expect(res.headers.get('ratelimit')).toBe('"credits";r=3');
    expect(await res.json()).toEqual({
      type: 'https://tollgate.dev/problems/insufficient-credits',
      title: 'Insufficient credits',
      status: 429,
      detail: 'The balance of 3 credits does not cover the cost of 5.',
      code: 'INSUFFICIENT_CREDITS',
      balance: 3,
      cost: 5,
    });
    expect(t.handled()).toBe(0);
    expect(await t.store.balance(t.subject)).toBe(3);
    const [event] = await t.delivered();
    expect(event?.data).toMatchObject({ endpoint: '/payments', method: 'POST', status_code: 429, cost: 0, decision: 'denied' });
  });

  it('prices by route rule: the matching rule cost is debited', async () => {
    const t = setup({ routes: [{ method: 'POST', path: '/payments', cost: 5 }] });
    await t.grant(12);
    expect((await t.call('/payments', { method: 'POST' })).status).toBe(201);
    expect((await t.call('/accounts')).status).toBe(200);
    expect(await t.store.balance(t.subject)).toBe(6);
    expect((await t.delivered()).map((e) => e.data?.cost)).toEqual([5, 1]);
  });

  it('answers 401 problem+json without a subject, runs nothing and emits no event', async () => {
    const t = setup();
    const res = await t.call('/accounts', {}, null);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual({
      type: 'https://tollgate.dev/problems/unauthorized',
      title: 'Unauthorized',
      status: 401,
      detail: 'The request names no subject (header x-tpp-id).',
      code: 'UNAUTHORIZED',
    });
    expect(res.headers.get('ratelimit')).toBeNull();
    expect(t.handled()).toBe(0);
    expect(await t.delivered()).toEqual([]);
  });

  it('answers 401 for a subject outside the subject pattern, with no event', async () => {
    const t = setup();
    for (const bad of ['tpp/1', 'tpp{1}', 'x'.repeat(129)]) {
      const res = await t.call('/accounts', {}, bad);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ detail: 'The subject in header x-tpp-id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -' });
    }
    expect(await t.delivered()).toEqual([]);
  });

  it('reads the subject from the configured header', async () => {
    const t = setup({ subject: { header: 'X-Client-Id' } });
    await t.grant(1, 'tpp-header');
    const res = await t.app.request('http://gateway.test/accounts', { headers: { 'x-client-id': 'tpp-header' } });
    expect(res.status).toBe(200);
    expect((await t.delivered())[0]?.subject).toBe('tpp-header');
  });

  it('uses the subject function instead of the header when given one, sync or async', async () => {
    const sync = setup({}, { subject: (c) => c.req.query('tpp') });
    await sync.grant(1, 'tpp-query');
    expect((await sync.call('/accounts?tpp=tpp-query', {}, 'ignored-header')).status).toBe(200);
    expect((await sync.delivered())[0]?.subject).toBe('tpp-query');

    const async = setup({}, { subject: async () => undefined });
    expect((await async.call('/accounts')).status).toBe(401);
  });

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

  it('answers even when the emitter throws; the event failure is logged', async () => {
    const logged: string[] = [];
    const broken: EventEmitter = {
      emit() {
        throw new Error('emitter down');
      },
      flush: async () => {},
      close: async () => {},
    };
    const store = new MemoryCreditStore({ restored: true });
    await store.applyGrant('tpp-1', 'k', 'h', 1);
    const app = new Hono();
    app.use(tollgate({ store, emitter: broken, config: parseTollgateConfig({}), logger: { ...silent, error: (msg) => void logged.push(msg) } }));
    app.get('/accounts', (c) => c.text('ok'));
    const res = await app.request('http://gateway.test/accounts', { headers: { 'x-tpp-id': 'tpp-1' } });
    expect(res.status).toBe(200);
    expect(logged).toEqual(['api.call event not emitted']);
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
