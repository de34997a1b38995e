import { Hono } from 'hono';
import { TollgateError, type Logger } from '@tollgate/core';
import type { TollgateConfig } from '@tollgate/core/config';
import { metrics } from '@tollgate/core/metrics';
import type { CreditStore } from '@tollgate/core/credits';
import type { GrantRepository } from '@tollgate/core/ledger';
import { parseIdempotencyKey, parseSubject, parseTopUpBody } from '../admin/top-up-request.ts';
import { topUp } from '../admin/top-up.ts';
import { readJsonRequest } from '../http/json-request.ts';
import { singleFieldsOf } from '../http/single-fields.ts';

export interface AdminCreditsDeps {
  store: CreditStore;
  grants: GrantRepository;
  config: TollgateConfig;
  logger: Logger;
}

/**
 * `POST /admin/v1/subjects/{subject}/credits`: a top-up, idempotent by its Idempotency-Key.
 * 201 when this request created the grant, 200 for a replay (same body), 409 for the same key
 * with another body. Nothing changes unless the whole request is valid.
 */
export const adminCreditsRoutes = ({ store, grants, config, logger }: AdminCreditsDeps) =>
  new Hono().post('/admin/v1/subjects/:subject/credits', async (c) => {
    let request;
    try {
      const subject = parseSubject(c.req.param('subject'));
      const idempotencyKey = parseIdempotencyKey(singleFieldsOf(c).header('idempotency-key'));
      const body = parseTopUpBody(await readJsonRequest(c.req.raw, config.limits.maxBodyBytes), config.credits.maxTopUp);
      request = { subject, idempotencyKey, ...body };
    } catch (err) {
      metrics.topUps.inc({ result: 'rejected' });
      throw err;
    }

    let result;
    try {
      result = await topUp(store, grants, request);
    } catch (err) {
      if (err instanceof TollgateError) {
        metrics.topUps.inc({ result: err.code === 'CONFLICT' ? 'conflict' : 'rejected' });
        throw err;
      }
      logger.error('top-up failed', { subject: request.subject, error: err instanceof Error ? err.message : String(err) });
      // Safe to retry: the grant is applied once per key, whichever attempt gets through.
      throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'The top-up could not be recorded; retry with the same Idempotency-Key.');
    }

    metrics.topUps.inc({ result: result.created ? 'created' : 'replayed' });
    const { grant, balance } = result;
    return c.json(
      {
        subject: grant.subject,
        amount: grant.amount,
        reason: grant.reason,
        idempotencyKey: grant.idempotencyKey,
        createdAt: grant.createdAt,
        balance,
      },
      result.created ? 201 : 200,
    );
  });
