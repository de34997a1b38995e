import { isValidSubject, TollgateError } from '@tollgate/core';
import { isObject } from '../http/json-request.ts';

const MAX_REASON_LENGTH = 500;
// Printable ASCII without a comma: two Idempotency-Key fields joined (as Headers.get joins them)
// read "A, B", which must not pass for one key.
const IDEMPOTENCY_KEY = /^[\x20-\x2b\x2d-\x7e]{1,255}$/;
const FIELDS = new Set(['amount', 'reason']);

const bad = (detail: string) => new TollgateError('BAD_REQUEST', detail);

export const parseSubject = (value: string | undefined): string => {
  if (!isValidSubject(value)) throw bad('The subject must be 1–128 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-".');
  return value;
};

export const parseIdempotencyKey = (value: string | undefined): string => {
  if (value === undefined || value === '') throw bad('A top-up needs an Idempotency-Key header.');
  if (!IDEMPOTENCY_KEY.test(value)) throw bad('The Idempotency-Key must be one field of 1–255 printable ASCII characters other than ",".');
  return value;
};

/** `{amount, reason}`: amount a JSON integer from 1 to `maxTopUp` (no strings, no fractions), reason well-formed text ≤ 500 characters. */
export const parseTopUpBody = (body: unknown, maxTopUp: number): { amount: number; reason: string } => {
  if (!isObject(body)) throw bad('The body must be a JSON object {amount, reason}.');
  if (Object.keys(body).some((k) => !FIELDS.has(k))) throw bad('The body may only have the fields amount and reason.');
  const { amount, reason = '' } = body;
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 1 || amount > maxTopUp) {
    throw bad(`amount must be an integer from 1 to ${maxTopUp}.`);
  }
  // A lone surrogate is not Unicode: ClickHouse cannot store it as UTF-8, and the durable write would fail on every retry.
  if (typeof reason !== 'string' || !reason.isWellFormed() || [...reason].length > MAX_REASON_LENGTH) {
    throw bad(`reason must be well-formed Unicode text of at most ${MAX_REASON_LENGTH} characters.`);
  }
  return { amount, reason };
};
