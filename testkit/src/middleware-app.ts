import { randomUUID } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';
import { Hono } from 'hono';
import { parseTollgateConfig } from '@tollgate/core/config';
import { metrics } from '@tollgate/core/metrics';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { InProcessBus, type ApiCallData } from '@tollgate/core/events';
import { tollgate, type TollgateOptions } from '@tollgate/gateway-plugin';

// Each clock reading is a minute after the previous: reading it twice in one request would split
// the debit minute from the event time.
export const NOW = Date.UTC(2026, 0, 15, 10, 30, 59, 987);
export const silent = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The tollgate() middleware in a Hono app of its own, for the middleware's tests: a memory store,
 * the in-process bus whose events the test reads, a clock, and handlers that answer, fail or throw.
 */
export const middlewareApp = (configDoc: Record<string, unknown> = {}, options: Partial<TollgateOptions> = {}) => {
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

export const decisionCount = async (decision: string) =>
  (await metrics.creditDecisions.get()).values.find((v) => v.labels.decision === decision && v.labels.component === 'gateway')?.value ?? 0;

export const answeredCount = async (status: string) =>
  (await metrics.httpRequests.get()).values.find((v) => v.labels.service === 'gateway' && v.labels.status === status)?.value ?? 0;
