import { describe, expect, it } from 'vitest';
import { healthRoutes, probe } from './health-routes.ts';

describe('healthRoutes', () => {
  it('answers /healthz live and /readyz ready with the checks', async () => {
    const app = healthRoutes({ readiness: () => ({ checks: { store: true, lag: 0 }, problems: [] }), metricsText: async () => 'up 1\n' });
    expect(await (await app.request('/healthz')).json()).toEqual({ status: 'live' });
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { store: true, lag: 0 } });
    expect(await (await app.request('/metrics')).text()).toBe('up 1\n');
  });

  it('answers /readyz 503 problem+json naming every problem, with the checks', async () => {
    const app = healthRoutes({ readiness: async () => ({ checks: { store: false, clickhouse: false }, problems: ['Valkey does not answer', 'ClickHouse does not answer'] }) });
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({
      status: 503,
      code: 'DEPENDENCY_UNAVAILABLE',
      detail: 'Valkey does not answer; ClickHouse does not answer',
      checks: { store: false, clickhouse: false },
      problems: ['Valkey does not answer', 'ClickHouse does not answer'],
    });
  });

  it('serves no /metrics when told not to', async () => {
    const app = healthRoutes({ readiness: () => ({ checks: {}, problems: [] }), metricsText: false });
    expect((await app.request('/metrics')).status).toBe(404);
  });

  it('counts a probe that fails or does not answer in its budget as down', async () => {
    expect(await probe(async () => true)).toBe(true);
    expect(await probe(() => Promise.reject(new Error('refused')))).toBe(false);
    expect(await probe(() => new Promise<boolean>(() => {}), 20)).toBe(false);
  });
});
