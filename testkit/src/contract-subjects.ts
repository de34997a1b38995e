import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { ApplyGrantResult, CreditStore } from '@tollgate/core/credits';

/** Helpers of the credit store contract suites. */
export const newSubject = () => `tpp-${randomUUID()}`;

/** Claims a fresh key and applies a grant of `amount` with it, as a top-up does. */
export const grantOn = async (store: CreditStore, s: string, amount: number): Promise<ApplyGrantResult> => {
  const key = randomUUID();
  expect(await store.claimGrant(s, key, `h-${amount}`)).toBe('new');
  return store.applyGrant(s, key, `h-${amount}`, amount);
};
