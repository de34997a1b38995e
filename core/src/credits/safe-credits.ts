/**
 * The range every balance, grant sum and reconciliation target stays in: the integers a
 * double holds exactly (±(2^53 − 1)). Valkey would go on to 2^63, but a balance read back
 * into JavaScript or Lua beyond 2^53 is silently rounded, so the stores refuse to leave it.
 */
export const MAX_CREDITS = Number.MAX_SAFE_INTEGER;

/** Throws a RangeError unless `value` is a safe integer; `what` names it in the message. */
export const assertSafeCredits = (value: number, what: string): void => {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer (at most ±${MAX_CREDITS}), got ${value}`);
};
