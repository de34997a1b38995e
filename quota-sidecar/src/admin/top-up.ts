import { createHash } from 'node:crypto';
import { TollgateError } from '@tollgate/core';
import { MAX_CREDITS, type CreditStore } from '@tollgate/core/credits';
import type { Grant, GrantRepository } from '@tollgate/core/ledger';

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

const beyondMax = (subject: string) =>
  new TollgateError('BAD_REQUEST', `This top-up would take the credits of ${subject} past ${MAX_CREDITS}; nothing was granted.`);

const conflict = (key: string) =>
  new TollgateError('CONFLICT', `Idempotency-Key "${key}" was already used with a different body.`);

/** How long a request that finds its key claimed waits for the claimant's durable write before writing it itself. */
const CLAIMANT_WAIT_MS = 1_000;
const CLAIMANT_POLL_MS = 20;

const awaitClaimantWrite = async (grants: GrantRepository, req: TopUpRequest): Promise<Grant | undefined> => {
  const deadline = Date.now() + CLAIMANT_WAIT_MS;
  for (;;) {
    const grant = await grants.find(req.subject, req.idempotencyKey);
    if (grant || Date.now() >= deadline) return grant;
    await new Promise((resolve) => setTimeout(resolve, CLAIMANT_POLL_MS));
  }
};

/**
 * A top-up, idempotent by its key: durable in ClickHouse before it is applied to the store.
 * 1. A key already in ClickHouse decides: same body → apply (idempotently) and replay; other body → 409.
 *    A new grant that would take the subject's Σ grants past MAX_CREDITS is refused (400)
 *    before anything is claimed or written, so every balance and reconciliation target stays exact.
 * 2. Claim the key in the store, so concurrent requests with another body are refused.
 * 3. Write the grant to ClickHouse. A request that finds the key claimed by a concurrent one
 *    waits for that write and answers with its row, so concurrent replies agree; if the write
 *    does not appear (the claimant failed), it writes the grant itself: the claim never stands
 *    in for the write.
 * 4. Apply it to the balance; the store applies a key once, however many requests get here.
 *    The request whose apply counts created the grant (exactly one per key), unless the key
 *    was durable before and the store had lost its claim: that is a replay.
 */
export const topUp = async (store: CreditStore, grants: GrantRepository, req: TopUpRequest): Promise<TopUpResult> => {
  const bodyHash = bodyHashOf(req.amount, req.reason);
  const existing = await grants.find(req.subject, req.idempotencyKey);
  if (existing && existing.bodyHash !== bodyHash) throw conflict(req.idempotencyKey);
  // Concurrent top-ups of one subject may each pass this check; the store's apply is the last
  // line (it never takes a balance past MAX_CREDITS), and reconciliation refuses a target beyond it.
  if (!existing && (await grants.total(req.subject)) + BigInt(req.amount) > BigInt(MAX_CREDITS)) throw beyondMax(req.subject);

  const claim = await store.claimGrant(req.subject, req.idempotencyKey, bodyHash);
  if (claim === 'conflict') throw conflict(req.idempotencyKey);

  let grant = existing ?? (claim === 'same' ? await awaitClaimantWrite(grants, req) : undefined);
  if (grant && grant.bodyHash !== bodyHash) throw conflict(req.idempotencyKey);
  if (!grant) {
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
  if (applied.status === 'overflow') throw beyondMax(req.subject);
  const storeLostClaim = existing !== undefined && claim === 'new';
  return { created: applied.status === 'applied' && !storeLostClaim, grant, balance: applied.balance };
};
