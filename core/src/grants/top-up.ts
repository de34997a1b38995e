import { createHash } from 'node:crypto';
import type { CreditStore } from '../credits/credit-store.ts';
import { TollgateError } from '../errors.ts';
import type { Grant, GrantRepository } from './grant-repository.ts';

export interface TopUpRequest {
  subject: string;
  amount: number;
  reason: string;
  idempotencyKey: string;
}

export interface TopUpResult {
  /** True for the request that applied the grant; false for a replay of the same key. */
  created: boolean;
  grant: Grant;
  balance: number;
}

const bodyHashOf = (amount: number, reason: string) =>
  createHash('sha256').update(JSON.stringify([amount, reason])).digest('hex');

const conflict = (key: string) =>
  new TollgateError('CONFLICT', `Idempotency-Key "${key}" was already used with a different body.`);

/**
 * A top-up, idempotent by its key: durable in ClickHouse before it is applied to the store.
 * 1. A key already in ClickHouse decides: same body → apply (idempotently) and replay; other body → 409.
 * 2. Claim the key in the store, so concurrent requests with another body are refused.
 * 3. Write the grant to ClickHouse. A failure here leaves the claim, and a retry with the same
 *    body goes through again: the claim never stands in for the write.
 * 4. Apply it to the balance; the store applies a key once, however many requests get here.
 */
export const topUp = async (store: CreditStore, grants: GrantRepository, req: TopUpRequest): Promise<TopUpResult> => {
  const bodyHash = bodyHashOf(req.amount, req.reason);
  const existing = await grants.find(req.subject, req.idempotencyKey);
  if (existing && existing.bodyHash !== bodyHash) throw conflict(req.idempotencyKey);

  let grant = existing;
  if (!grant) {
    if ((await store.claimGrant(req.subject, req.idempotencyKey, bodyHash)) === 'conflict') throw conflict(req.idempotencyKey);
    grant = {
      subject: req.subject,
      idempotencyKey: req.idempotencyKey,
      amount: req.amount,
      reason: req.reason,
      bodyHash,
      createdAt: new Date().toISOString(),
    };
    await grants.insert(grant);
  }
  const applied = await store.applyGrant(req.subject, req.idempotencyKey, bodyHash, req.amount);
  if (applied.status === 'conflict') throw conflict(req.idempotencyKey);
  return { created: applied.status === 'applied' && !existing, grant, balance: applied.balance };
};
