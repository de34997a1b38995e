import type { CloudEventV1 } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { parseTollgateConfig } from '../config/tollgate-config.ts';
import { epochMinute } from '../credits/credit-store.ts';
import { MemoryCreditStore } from '../credits/memory-store.ts';
import type { ApiCallData } from '../events/api-call.ts';
import { InProcessBus } from '../events/in-process-bus.ts';
import { validateEvent } from '../events/validate-event.ts';
import { createCharging, type Call, type ChargeAnswers } from './charging.ts';

const TIME = Date.parse('2026-01-15T10:30:00.123Z');
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const config = parseTollgateConfig({
  routes: [
    { method: 'GET', path: '/accounts/:id/transactions', cost: 3, chargeOn: 'success' },
    { method: 'POST', path: '/payments', cost: 10 },
    { method: 'GET', path: '/status', cost: 0 },
    { method: 'GET', path: '/open', cost: 2, onStoreError: 'allow' },
  ],
});

/** Answers that record what they were asked: the allowed call's status is given per test. */
const recording = (status = 200, fail = false) => {
  const seen: { allowed: Call[]; refused: [Call | null, string][]; done: (number | undefined)[] } = { allowed: [], refused: [], done: [] };
  const answers: ChargeAnswers<undefined, string> = {
    allowed: async (_c, call) => {
      seen.allowed.push(call);
      if (fail) throw new Error('handler failed');
      return 'served';
    },
    refused: (_c, call, refusal) => {
      seen.refused.push([call, refusal.code]);
      return refusal.code;
    },
    status: () => status,
    done: (_c, answer, _call, remaining) => {
      seen.done.push(remaining);
      return answer ?? 'thrown';
    },
  };
  return { answers, seen };
};

const setup = (store = new MemoryCreditStore({ restored: true })) => {
  const bus = new InProcessBus();
  const events: CloudEventV1<ApiCallData>[] = [];
  bus.subscribe((batch) => void events.push(...(batch as CloudEventV1<ApiCallData>[])));
  let readings = 0;
  const charge = createCharging({
    store,
    config,
    emitter: bus,
    source: 'test',
    component: 'test',
    now: () => {
      readings++;
      return TIME;
    },
    logger: silent,
  });
  const delivered = async () => {
    await bus.flush();
    return events;
  };
  return { store, bus, charge, delivered, readings: () => readings };
};

const funded = async (store: MemoryCreditStore, amount: number, subject = 'tpp-1') => {
  await store.applyGrant(subject, `k-${amount}`, 'h', amount);
  return subject;
};

describe('the shared charging decision', () => {
  it('prices HEAD as GET and the normalised path, debits once, and records what was sent', async () => {
    const t = setup();
    const subject = await funded(t.store, 10);
    const { answers, seen } = recording();
    expect(await t.charge(undefined, subject, 'HEAD', '//accounts/7/./transactions?x=1', answers)).toBe('served');
    expect(seen.allowed).toMatchObject([{ subject, method: 'HEAD', path: '/accounts/7/transactions', cost: 3, outcome: 'debited', balance: 7 }]);
    expect(t.readings()).toBe(1);
    const [event] = await t.delivered();
    expect(event).toMatchObject({ source: 'test', subject, time: '2026-01-15T10:30:00.123Z', id: seen.allowed[0]?.id });
    expect(event?.data).toMatchObject({ endpoint: '/accounts/7/transactions', method: 'HEAD', status_code: 200, cost: 3, decision: 'debited' });
    expect(await t.store.realtimeBuckets(subject)).toEqual(new Map([[epochMinute(TIME), 3]]));
  });

  it('gives each call a time-ordered id (UUIDv7), the id of its event, as every api.call id is', async () => {
    const t = setup();
    const subject = await funded(t.store, 10);
    const { answers, seen } = recording();
    for (let i = 0; i < 3; i++) {
      // UUIDv7 orders by the millisecond of creation: each call in a later one.
      for (const ms = Date.now(); Date.now() === ms; ) await new Promise((resolve) => setImmediate(resolve));
      await t.charge(undefined, subject, 'GET', '/status', answers);
    }
    const ids = (await t.delivered()).map((e) => e.id);
    expect(ids).toEqual(seen.allowed.map((c) => c.id));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
  });

  it.each<[string, string, string, number, { status: number; cost: number; decision: string }]>([
    ['debited', 'POST', '/payments', 20, { status: 200, cost: 10, decision: 'debited' }],
    ['free', 'GET', '/status', 0, { status: 200, cost: 0, decision: 'free' }],
    ['denied', 'POST', '/payments', 9, { status: 429, cost: 0, decision: 'denied' }],
  ])('%s: the event the sink stores as emitted', async (_name, method, path, funds, expected) => {
    const t = setup();
    const subject = funds > 0 ? await funded(t.store, funds) : 'tpp-1';
    await t.charge(undefined, subject, method, path, recording().answers);
    const [event] = await t.delivered();
    expect(event?.data).toMatchObject({ endpoint: path, method, status_code: expected.status, cost: expected.cost, decision: expected.decision });
    expect(validateEvent(JSON.parse(JSON.stringify(event)))).toMatchObject({ ok: true, event: { cost: expected.cost, decision: expected.decision, timeMs: TIME } });
  });

  it('refunds a 5xx under chargeOn: success in the debit minute; the event owes nothing', async () => {
    const t = setup();
    const subject = await funded(t.store, 10);
    const { answers, seen } = recording(503);
    await t.charge(undefined, subject, 'GET', '/accounts/1/transactions', answers);
    expect(seen.done).toEqual([10]);
    expect(await t.store.balance(subject)).toBe(10);
    expect((await t.delivered())[0]?.data).toMatchObject({ status_code: 503, cost: 0, decision: 'refunded' });
  });

  it('records a throw as a 500, refunds it, and rethrows', async () => {
    const t = setup();
    const subject = await funded(t.store, 10);
    const { answers, seen } = recording(200, true);
    await expect(t.charge(undefined, subject, 'GET', '/accounts/1/transactions', answers)).rejects.toThrow('handler failed');
    expect(seen.done).toEqual([10]);
    expect((await t.delivered())[0]?.data).toMatchObject({ status_code: 500, cost: 0, decision: 'refunded' });
  });

  it('refuses a path no upstream agrees on before pricing: nothing debited, no event', async () => {
    const t = setup();
    const subject = await funded(t.store, 10);
    const { answers, seen } = recording();
    expect(await t.charge(undefined, subject, 'GET', '/accounts/1%2Ftransactions', answers)).toBe('BAD_REQUEST');
    expect(seen).toMatchObject({ allowed: [], refused: [[null, 'BAD_REQUEST']] });
    expect(await t.store.balance(subject)).toBe(10);
    expect(await t.delivered()).toEqual([]);
  });

  it('refuses before debiting while events cannot be recorded', async () => {
    const t = setup();
    const subject = await funded(t.store, 10);
    const full = { emit() {}, accepting: false, flush: async () => {}, close: async () => {} };
    const charge = createCharging({ store: t.store, config, emitter: full, source: 'test', component: 'test', logger: silent });
    const { answers, seen } = recording();
    expect(await charge(undefined, subject, 'POST', '/payments', answers)).toBe('DEPENDENCY_UNAVAILABLE');
    expect(seen.refused).toEqual([[null, 'DEPENDENCY_UNAVAILABLE']]);
    expect(await t.store.balance(subject)).toBe(10);
  });

  // Any error of the store takes the route's policy: a connection failure, a budget that ran
  // out, or a subject the store has not restored yet (the restore's StoreNotRestoredError).
  class StoreNotRestoredError extends Error {}
  describe.each([
    ['fails', () => new Error('connection refused')],
    ['has not restored the subject yet', () => new StoreNotRestoredError('tpp-1 is not restored yet')],
  ])('a store that %s', (_name, error) => {
    class FailingStore extends MemoryCreditStore {
      override async debit(): Promise<never> {
        throw error();
      }
    }

    it('refuses under deny (503, an event that owes nothing) and lets through under allow (unverified, owing its cost)', async () => {
      const t = setup(new FailingStore());
      const deny = recording();
      expect(await t.charge(undefined, 'tpp-1', 'POST', '/payments', deny.answers)).toBe('STORE_UNAVAILABLE');
      expect(deny.seen.refused[0]?.[0]).toMatchObject({ outcome: 'unavailable', balance: null, cost: 10 });
      const allow = recording();
      expect(await t.charge(undefined, 'tpp-1', 'GET', '/open', allow.answers)).toBe('served');
      expect(allow.seen.allowed).toMatchObject([{ outcome: 'unverified', balance: null, cost: 2 }]);
      expect((await t.delivered()).map((e) => e.data)).toMatchObject([
        { status_code: 503, cost: 0, decision: 'denied' },
        { status_code: 200, cost: 2, decision: 'unverified' },
      ]);
    });
  });
});
