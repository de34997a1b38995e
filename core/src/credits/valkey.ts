/** @tollgate/core/credits/valkey: the Valkey credit store and a producer's side of its restore. Loads iovalkey. */
export * from './valkey-store.ts';
export * from './restore-acks.ts';
