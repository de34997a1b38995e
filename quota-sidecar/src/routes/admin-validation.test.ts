import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CreditStore } from '@tollgate/core/credits';
import { closeTestClickHouse, createTestSidecar, openStore, testConfig, uniqueSubject, type TestSidecar } from '@tollgate/testkit/sidecar-fixture';

const MAX_TOP_UP = 1_000;
const MAX_BODY = 2_048;
const config = testConfig({
  credits: { ...testConfig().credits, maxTopUp: MAX_TOP_UP },
  limits: { maxBodyBytes: MAX_BODY },
});

interface BadInput {
  name: string;
  status: number;
  code: string;
  body?: string;
  key?: string | null;
  contentType?: string | null;
  subject?: string;
}

const json = (value: unknown) => JSON.stringify(value);

const BAD_INPUTS: BadInput[] = [
  { name: 'amount zero', body: json({ amount: 0 }), status: 400, code: 'BAD_REQUEST' },
  { name: 'negative amount', body: json({ amount: -5 }), status: 400, code: 'BAD_REQUEST' },
  { name: 'fractional amount', body: json({ amount: 1.5 }), status: 400, code: 'BAD_REQUEST' },
  { name: 'amount as a numeric string', body: json({ amount: '10' }), status: 400, code: 'BAD_REQUEST' },
  { name: 'non-numeric amount', body: json({ amount: 'ten' }), status: 400, code: 'BAD_REQUEST' },
  { name: 'boolean amount', body: json({ amount: true }), status: 400, code: 'BAD_REQUEST' },
  { name: 'null amount', body: json({ amount: null }), status: 400, code: 'BAD_REQUEST' },
  { name: 'missing amount', body: json({ reason: 'x' }), status: 400, code: 'BAD_REQUEST' },
  { name: 'amount above maxTopUp', body: json({ amount: MAX_TOP_UP + 1 }), status: 400, code: 'BAD_REQUEST' },
  { name: 'amount beyond the safe integers', body: '{"amount":9007199254740993}', status: 400, code: 'BAD_REQUEST' },
  { name: 'amount that overflows to Infinity', body: '{"amount":1e400}', status: 400, code: 'BAD_REQUEST' },
  { name: 'reason not a string', body: json({ amount: 5, reason: 42 }), status: 400, code: 'BAD_REQUEST' },
  { name: 'reason of 501 characters', body: json({ amount: 5, reason: 'r'.repeat(501) }), status: 400, code: 'BAD_REQUEST' },
  { name: 'reason with a lone surrogate (not storable as UTF-8)', body: '{"amount":5,"reason":"\\ud800"}', status: 400, code: 'BAD_REQUEST' },
  { name: 'unknown field', body: json({ amount: 5, ammount: 5 }), status: 400, code: 'BAD_REQUEST' },
  { name: 'array body', body: json([5]), status: 400, code: 'BAD_REQUEST' },
  { name: 'null body', body: 'null', status: 400, code: 'BAD_REQUEST' },
  { name: 'malformed JSON', body: '{"amount": 5', status: 400, code: 'BAD_REQUEST' },
  { name: 'empty body', body: '', status: 400, code: 'BAD_REQUEST' },
  { name: 'body over maxBodyBytes', body: json({ amount: 5, reason: 'r'.repeat(MAX_BODY) }), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'text/plain content type', contentType: 'text/plain', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'form content type', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'no content type', contentType: null, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'no Idempotency-Key', key: null, status: 400, code: 'BAD_REQUEST' },
  { name: 'Idempotency-Key of 256 characters', key: 'k'.repeat(256), status: 400, code: 'BAD_REQUEST' },
  { name: 'Idempotency-Key with a non-ASCII character', key: 'cl\u00e9', status: 400, code: 'BAD_REQUEST' },
  { name: 'Idempotency-Key with a tab', key: 'a\tb', status: 400, code: 'BAD_REQUEST' },
  { name: 'subject with a space', subject: 'tpp%201', status: 400, code: 'BAD_REQUEST' },
  { name: 'subject with an encoded slash', subject: 'tpp%2F1', status: 400, code: 'BAD_REQUEST' },
  { name: 'subject of 129 characters', subject: 's'.repeat(129), status: 400, code: 'BAD_REQUEST' },
  { name: 'subject with braces', subject: '%7Btpp%7D', status: 400, code: 'BAD_REQUEST' },
];

afterAll(closeTestClickHouse);

describe('admin top-up input validation', () => {
  let store: CreditStore;
  let sidecar: TestSidecar;
  const subject = uniqueSubject();
  const KEY = 'reused-key';

  beforeAll(async () => {
    store = await openStore('valkey', inject('valkeyUrl'));
    sidecar = await createTestSidecar({ store, config });
  });
  afterAll(async () => {
    await store.close();
  });

  it.each(BAD_INPUTS)('$name → $status $code', async (input) => {
    const headers: Record<string, string> = {};
    const contentType = input.contentType === undefined ? 'application/json' : input.contentType;
    if (contentType !== null) headers['content-type'] = contentType;
    const key = input.key === undefined ? KEY : input.key;
    if (key !== null) headers['idempotency-key'] = key;
    const res = await sidecar.admin(`/admin/v1/subjects/${input.subject ?? subject}/credits`, {
      method: 'POST',
      headers,
      body: input.body ?? json({ amount: 5, reason: 'ok' }),
    });
    expect(res.status).toBe(input.status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: input.status, code: input.code, type: expect.stringMatching(/^https:\/\//) });
    expect(problem.detail).toEqual(expect.any(String));
  });

  it('changed nothing: balance and ledger are empty, and the key used by every bad request is still free', async () => {
    expect(await sidecar.balance(subject)).toBe(0);
    const ledger = await (await sidecar.admin(`/admin/v1/subjects/${subject}/ledger`)).json();
    expect(ledger).toEqual({ subject, balance: 0, grants: [], adjustments: [], totals: { grants: 0, adjustments: 0, balance: 0, consumed: 0, consumedSettled: 0, consumedUnsettled: 0, difference: 0 } });
    expect(await sidecar.grants.list(subject)).toEqual([]);

    const good = await sidecar.topUp(subject, 7, KEY, 'after the bad ones');
    expect(good.status).toBe(201);
    expect(await sidecar.balance(subject)).toBe(7);
  });

  it('accepts the limits themselves: amount maxTopUp, a 500-character reason, a 255-character key, no reason', async () => {
    const s = uniqueSubject();
    expect((await sidecar.topUp(s, MAX_TOP_UP, 'k'.repeat(255), 'r'.repeat(500))).status).toBe(201);
    const noReason = await sidecar.admin(`/admin/v1/subjects/${s}/credits`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'idempotency-key': 'no reason ~!' },
      body: json({ amount: 1 }),
    });
    expect(noReason.status).toBe(201);
    expect(await noReason.json()).toMatchObject({ reason: '', amount: 1, balance: MAX_TOP_UP + 1 });
  });

  it('answers 400 problem+json for an invalid subject on balance and ledger', async () => {
    for (const path of ['balance', 'ledger']) {
      const res = await sidecar.admin(`/admin/v1/subjects/tpp%201/${path}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });

  it('answers unknown routes with 404 problem+json', async () => {
    for (const res of [await sidecar.admin('/admin/v1/nothing'), await sidecar.app.request('http://sidecar/nothing')]) {
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
  });
});
