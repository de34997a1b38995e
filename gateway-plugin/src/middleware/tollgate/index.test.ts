import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { parseTollgateConfig } from '@tollgate/core/config';
import { metrics } from '@tollgate/core/metrics';
import { MemoryCreditStore, epochMinute } from '@tollgate/core/credits';
import type { EventEmitter } from '@tollgate/core/events';
import { answeredCount, middlewareApp as setup, NOW, silent } from '@tollgate/testkit/middleware-app';
import { tollgate } from './index.ts';

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
});
