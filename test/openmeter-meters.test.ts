import { describe, expect, it } from 'vitest';
import { DEFINED_AT, PROBLEM, RANGE, get, sidecar, useSeededMeters } from '@tollgate/testkit/seeded-meters';

/** OpenMeter's meter API: the configured meters, listed and got one by one (testkit/src/seeded-meters.ts holds them). */
useSeededMeters();

describe('OpenMeter meter API', () => {
  describe('GET /api/v1/meters', () => {
    const apiCalls = {
      id: 'api_calls',
      slug: 'api_calls',
      name: 'api_calls',
      description: 'API call count per TPP',
      aggregation: 'COUNT',
      eventType: 'api.call',
      groupBy: { endpoint: '$.endpoint', method: '$.method' },
      windowSize: 'MINUTE',
      createdAt: DEFINED_AT,
      updatedAt: DEFINED_AT,
    };

    it('lists the configured meters as OpenMeter does, with paths into the event data', async () => {
      const res = await get('/api/v1/meters');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual([
        apiCalls,
        {
          id: 'api_latency',
          slug: 'api_latency',
          name: 'api_latency',
          aggregation: 'SUM',
          eventType: 'api.call',
          valueProperty: '$.response_time_ms',
          groupBy: { endpoint: '$.endpoint' },
          windowSize: 'MINUTE',
          createdAt: DEFINED_AT,
          updatedAt: DEFINED_AT,
        },
        {
          id: 'prompt_tokens',
          slug: 'prompt_tokens',
          name: 'prompt_tokens',
          aggregation: 'MAX',
          eventType: 'prompt',
          valueProperty: '$.usage.tokens',
          groupBy: { model: '$.model' },
          windowSize: 'MINUTE',
          createdAt: DEFINED_AT,
          updatedAt: DEFINED_AT,
        },
      ]);
    });

    it('gets one meter by its slug, and 404 problem+json for an unknown one', async () => {
      const res = await get('/api/v1/meters/api_calls');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(apiCalls);

      for (const path of ['/api/v1/meters/nope', '/api/v1/meters/nope/query', '/api/v1/meters/toString/query']) {
        const missing = await get(path);
        expect(missing.status).toBe(404);
        expect(missing.headers.get('content-type')).toBe(PROBLEM);
        expect(await missing.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
      }
    });

    it('needs a bearer token of ADMIN_TOKENS', async () => {
      for (const path of ['/api/v1/meters', '/api/v1/meters/api_calls', `/api/v1/meters/api_calls/query?${RANGE}`]) {
        const res = await sidecar.app.request(`http://sidecar${path}`);
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toBe(PROBLEM);
      }
    });
  });
});
