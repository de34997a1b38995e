import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createLogger, TollgateError } from '@tollgate/core';
import { notFound, onError } from './errors.ts';

const app = new Hono()
  .get('/known', () => {
    throw new TollgateError('CONFLICT', 'Already used.', { key: 'k' });
  })
  .get('/unknown', () => {
    throw new Error('connect ECONNREFUSED 10.0.0.7:6379 password=hunter2');
  });
app.onError(onError(createLogger('quota-sidecar', 'silent')));
app.notFound(notFound);

describe('error answers', () => {
  it('maps a TollgateError to its status and problem document', async () => {
    const res = await app.request('http://sidecar/known');
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual({
      type: 'https://tollgate.dev/problems/conflict',
      title: 'Conflict',
      status: 409,
      detail: 'Already used.',
      code: 'CONFLICT',
      key: 'k',
    });
  });

  it('answers any other error as a 500 problem that hides its message', async () => {
    const res = await app.request('http://sidecar/unknown');
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const text = await res.text();
    expect(text).not.toMatch(/ECONNREFUSED|hunter2|10\.0\.0\.7/);
    expect(JSON.parse(text)).toMatchObject({ code: 'INTERNAL', status: 500 });
  });

  it('answers unknown routes with 404 problem+json', async () => {
    const res = await app.request('http://sidecar/nowhere', { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NOT_FOUND', detail: 'There is no DELETE /nowhere.' });
  });
});
