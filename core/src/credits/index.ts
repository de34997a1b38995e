/**
 * @tollgate/core/credits: the credit store's contract (CreditStore), the in-memory store of a
 * single process, settling within a time budget, the safe-integer bounds and the Valkey key
 * names. Loads no Valkey client: the Valkey store is @tollgate/core/credits/valkey.
 */
export * from './credit-store.ts';
export * from './memory-store.ts';
export * from './settle-within.ts';
export * from './safe-credits.ts';
export * from './keys.ts';
