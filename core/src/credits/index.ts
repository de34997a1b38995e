/**
 * @tollgate/core/credits: the credit store's contract (CreditStore), the in-memory store of a
 * single process, settling within a time budget, the safe-integer bounds, the Valkey key names,
 * and openCreditStore, which loads the Valkey client only for a Valkey URL. The Valkey store
 * itself is @tollgate/core/credits/valkey.
 */
export * from './credit-store.ts';
export * from './memory-store.ts';
export * from './settle-within.ts';
export * from './safe-credits.ts';
export * from './keys.ts';
export * from './open-store.ts';
