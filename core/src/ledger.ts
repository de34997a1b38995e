/**
 * @tollgate/core/ledger: what ClickHouse holds for each subject (grants, metered usage, the
 * ledger's entries and totals) and reconciling the credit store to it: the targets, the
 * reconcile of a batch of subjects and the restore of a wiped store. Takes a ClickHouse client
 * and a store from its caller and loads neither.
 */
export * from './grants/grant-repository.ts';
export * from './reconcile/reconcile-sql.ts';
export * from './reconcile/drift-cause.ts';
export * from './reconcile/reconcile-subjects.ts';
export * from './reconcile/ledger-entries.ts';
export * from './reconcile/ledger-totals.ts';
export * from './reconcile/restore-store.ts';
