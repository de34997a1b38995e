/** @tollgate/core/credits/valkey: the Valkey credit store, and the opener that picks it or the memory store. Loads iovalkey. */
export * from './valkey-store.ts';
export * from './open-store.ts';
export * from './restore-acks.ts';
