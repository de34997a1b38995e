import { describe, expect, it } from 'vitest';
import { createSampleUpstreamApp } from './app.ts';

const app = createSampleUpstreamApp();
const get = async (path: string, headers: Record<string, string> = {}) => {
  const res = await app.request(`http://upstream.test${path}`, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
};
const payment = (amount = '10.50') => ({
  Data: { Initiation: { InstructionIdentification: 'ACME412', InstructedAmount: { Amount: amount, Currency: 'GBP' } } },
});
const pay = (body: unknown, contentType = 'application/json') =>
  app.request('http://upstream.test/payments', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': contentType } });

describe('sample Open Banking upstream', () => {
  it('lists the three fixed accounts in an Open Banking envelope', async () => {
    const res = await get('/accounts');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ Links: { Self: '/accounts' }, Meta: { TotalPages: 1 } });
    const accounts = (res.body.Data as { Account: { AccountId: string }[] }).Account;
    expect(accounts.map((a) => a.AccountId)).toEqual(['22289', '31820', '47310']);
  });

  it('answers the same account, balance and transactions on every call', async () => {
    expect((await get('/accounts/31820')).body).toEqual((await get('/accounts/31820')).body);
    const balances = await get('/accounts/22289/balances');
    expect(balances.body.Data).toEqual({
      Balance: [
        {
          AccountId: '22289',
          Amount: { Amount: '1195.00', Currency: 'GBP' },
          CreditDebitIndicator: 'Credit',
          Type: 'InterimAvailable',
          DateTime: '2026-01-15T09:00:00.000Z',
        },
      ],
    });
    const transactions = (await get('/accounts/22289/transactions')).body.Data as { Transaction: { TransactionId: string }[] };
    expect(transactions.Transaction).toHaveLength(10);
    expect(transactions.Transaction[0]?.TransactionId).toBe('22289-0001');
    expect(await get('/accounts/22289/transactions')).toMatchObject({ body: { Data: transactions } });
  });

  it('answers 404 problem+json for an unknown account or path', async () => {
    for (const path of ['/accounts/99999', '/accounts/99999/balances', '/accounts/99999/transactions', '/nope']) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });

  it('accepts a payment with a deterministic id, and refuses malformed ones', async () => {
    const first = await pay(payment());
    expect(first.status).toBe(201);
    const body = (await first.json()) as { Data: { PaymentId: string; Status: string } };
    expect(body.Data.Status).toBe('AcceptedSettlementInProcess');
    expect(body.Data.PaymentId).toMatch(/^P-[0-9a-f]{16}$/);
    expect(((await (await pay(payment())).json()) as typeof body).Data.PaymentId).toBe(body.Data.PaymentId);
    expect((await pay(payment('ten'))).status).toBe(400);
    expect((await pay({ Data: {} })).status).toBe(400);
    expect((await pay(payment(), 'text/plain')).status).toBe(415);
  });

  it('echoes x-fapi-interaction-id and answers /health', async () => {
    const res = await get('/health', { 'x-fapi-interaction-id': 'abc-123' });
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers.get('x-fapi-interaction-id')).toBe('abc-123');
  });
});
