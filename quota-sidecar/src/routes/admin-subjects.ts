import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import { TollgateError, type Logger } from '@tollgate/core';
import { StoreNotRestoredError, type CreditStore } from '@tollgate/core/credits';
import { queryRows } from '@tollgate/core/clickhouse';
import { adjustmentsSql, readLedgerTotals, type GrantRepository } from '@tollgate/core/ledger';
import { parseSubject } from '../admin/top-up-request.ts';
import type { AdjustmentRow } from './admin-reconciliation.ts';

const unavailable = (logger: Logger, what: string) => (err: unknown) => {
  // An emptied store must not answer 0 for a TPP that holds credits: 503 until it is restored.
  if (err instanceof StoreNotRestoredError) {
    throw new TollgateError('STORE_UNAVAILABLE', 'The credit store lost its state and is restoring this balance; try again shortly.');
  }
  logger.error(`${what} failed`, { error: err instanceof Error ? err.message : String(err) });
  throw new TollgateError('DEPENDENCY_UNAVAILABLE', `The ${what} could not be read; try again.`);
};

/** `GET /admin/v1/subjects/{subject}/balance` and `…/ledger`: the real-time balance and the durable grants behind it. */
const toAdjustment = (a: AdjustmentRow) => ({
  id: a.change_id,
  watermark: new Date(Number(a.watermark_minute) * 60_000).toISOString(),
  settledFrom: a.previous_minute === null ? null : new Date(Number(a.previous_minute) * 60_000).toISOString(),
  amount: Number(a.amount),
  cause: a.cause,
  details: JSON.parse(a.details) as unknown,
  createdAt: `${a.recorded_at.replace(' ', 'T')}Z`,
});

export const adminSubjectsRoutes = ({
  store,
  grants,
  clickhouse,
  logger,
}: {
  store: CreditStore;
  grants: GrantRepository;
  /** Where reconciliation writes drift adjustments; without it the ledger lists none. */
  clickhouse?: ClickHouseClient | undefined;
  logger: Logger;
}) =>
  new Hono()
    .get('/admin/v1/subjects/:subject/balance', async (c) => {
      const subject = parseSubject(c.req.param('subject'));
      const balance = await store.balance(subject).catch(unavailable(logger, 'balance'));
      return c.json({ subject, balance });
    })
    .get('/admin/v1/subjects/:subject/ledger', async (c) => {
      const subject = parseSubject(c.req.param('subject'));
      const [balance, list, adjustments, totals] = await Promise.all([
        store.balance(subject).catch(unavailable(logger, 'balance')),
        grants.list(subject).catch(unavailable(logger, 'ledger')),
        clickhouse ? queryRows<AdjustmentRow>(clickhouse, adjustmentsSql(subject)).catch(unavailable(logger, 'ledger')) : Promise.resolve([]),
        clickhouse ? readLedgerTotals(clickhouse, store, subject).catch(unavailable(logger, 'ledger')) : Promise.resolve(undefined),
      ]);
      return c.json({
        subject,
        balance,
        grants: list.map((g) => ({ idempotencyKey: g.idempotencyKey, amount: g.amount, reason: g.reason, createdAt: g.createdAt })),
        // What reconciliation changed, per entry: drift at settlement, charges from metering, restores.
        adjustments: adjustments.map(toAdjustment),
        // grants + adjustments = balance + consumed (real-time debits, settled or not): difference 0.
        ...(totals ? { totals } : {}),
      });
    });
