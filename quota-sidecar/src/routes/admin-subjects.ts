import { Hono } from 'hono';
import { TollgateError, type CreditStore, type GrantRepository, type Logger } from '@tollgate/core';
import { parseSubject } from '../admin/top-up-request.ts';

const unavailable = (logger: Logger, what: string) => (err: unknown) => {
  logger.error(`${what} failed`, { error: err instanceof Error ? err.message : String(err) });
  throw new TollgateError('DEPENDENCY_UNAVAILABLE', `The ${what} could not be read; try again.`);
};

/** `GET /admin/v1/subjects/{subject}/balance` and `…/ledger`: the real-time balance and the durable grants behind it. */
export const adminSubjectsRoutes = ({ store, grants, logger }: { store: CreditStore; grants: GrantRepository; logger: Logger }) =>
  new Hono()
    .get('/admin/v1/subjects/:subject/balance', async (c) => {
      const subject = parseSubject(c.req.param('subject'));
      const balance = await store.balance(subject).catch(unavailable(logger, 'balance'));
      return c.json({ subject, balance });
    })
    .get('/admin/v1/subjects/:subject/ledger', async (c) => {
      const subject = parseSubject(c.req.param('subject'));
      const [balance, list] = await Promise.all([
        store.balance(subject).catch(unavailable(logger, 'balance')),
        grants.list(subject).catch(unavailable(logger, 'ledger')),
      ]);
      return c.json({
        subject,
        balance,
        grants: list.map((g) => ({ idempotencyKey: g.idempotencyKey, amount: g.amount, reason: g.reason, createdAt: g.createdAt })),
        // Drift adjustments written by reconciliation are not recorded yet; until then the list is empty.
        adjustments: [],
      });
    });
