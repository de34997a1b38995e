import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { TollgateError } from '@tollgate/core';
import { problemResponse, readJsonBody } from '@tollgate/core/http';
import { ACCOUNTS, balanceOf, transactionsOf } from './data.ts';

const INTERACTION_ID = 'x-fapi-interaction-id';
const MAX_PAYMENT_BYTES = 16 * 1024;

/** An Open Banking (UK read/write API shaped) response: Data, Links, Meta. */
const envelope = (self: string, data: Record<string, unknown>) => ({ Data: data, Links: { Self: self }, Meta: { TotalPages: 1 } });

interface PaymentRequest {
  Data: { Initiation: { InstructionIdentification: string; InstructedAmount: { Amount: string; Currency: string } } };
}

const isPayment = (body: unknown): body is PaymentRequest => {
  const initiation = (body as PaymentRequest | undefined)?.Data?.Initiation;
  return (
    typeof initiation?.InstructionIdentification === 'string' &&
    typeof initiation.InstructedAmount?.Amount === 'string' &&
    /^\d{1,13}\.\d{1,5}$/.test(initiation.InstructedAmount.Amount) &&
    typeof initiation.InstructedAmount.Currency === 'string'
  );
};

/** A small built-in Open Banking API with deterministic data, to put behind the gateway. */
export const createSampleUpstreamApp = (): Hono => {
  const app = new Hono();

  app.use(async function interactionId(c, next) {
    await next();
    const id = c.req.header(INTERACTION_ID);
    if (id) c.res.headers.set(INTERACTION_ID, id);
  });
  app.onError((err) => problemResponse(err));
  app.notFound((c) => problemResponse(new TollgateError('NOT_FOUND', `No resource at ${c.req.path}.`)));

  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/accounts', (c) => c.json(envelope('/accounts', { Account: ACCOUNTS })));
  app.get('/accounts/:id', (c) => {
    const account = ACCOUNTS.find((a) => a.AccountId === c.req.param('id'));
    if (!account) throw new TollgateError('NOT_FOUND', `No account ${c.req.param('id')}.`);
    return c.json(envelope(c.req.path, { Account: [account] }));
  });
  app.get('/accounts/:id/balances', (c) => {
    const id = c.req.param('id');
    if (!ACCOUNTS.some((a) => a.AccountId === id)) throw new TollgateError('NOT_FOUND', `No account ${id}.`);
    return c.json(envelope(c.req.path, { Balance: [balanceOf(id)] }));
  });
  app.get('/accounts/:id/transactions', (c) => {
    const id = c.req.param('id');
    if (!ACCOUNTS.some((a) => a.AccountId === id)) throw new TollgateError('NOT_FOUND', `No account ${id}.`);
    return c.json(envelope(c.req.path, { Transaction: transactionsOf(id) }));
  });
  app.post('/payments', async (c) => {
    if (!(c.req.header('content-type') ?? '').startsWith('application/json')) {
      throw new TollgateError('UNSUPPORTED_MEDIA_TYPE', 'Send the payment as application/json.');
    }
    const body = await readJsonBody(c.req.raw, MAX_PAYMENT_BYTES);
    if (!isPayment(body)) {
      throw new TollgateError('BAD_REQUEST', 'Data.Initiation needs InstructionIdentification and InstructedAmount {Amount, Currency}.');
    }
    // The same initiation always gets the same id: the sample has no state to keep.
    const paymentId = `P-${createHash('sha256').update(JSON.stringify(body.Data.Initiation)).digest('hex').slice(0, 16)}`;
    return c.json(
      envelope(`/payments/${paymentId}`, {
        PaymentId: paymentId,
        Status: 'AcceptedSettlementInProcess',
        CreationDateTime: '2026-01-15T09:00:00.000Z',
        Initiation: body.Data.Initiation,
      }),
      201,
    );
  });
  return app;
};
