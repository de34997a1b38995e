import { randomUUID } from 'node:crypto';
import { openCreditStore, type CreditStore } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { requiredEnv } from './required-env.ts';

/**
 * The credit store of a server child: Valkey when VALKEY_URL is set, the memory store otherwise.
 * Either is declared restored (a benchmark has no ledger to restore from), so it decides debits.
 */
export const openBenchStore = async (): Promise<CreditStore> => {
  const store = await openCreditStore(process.env.VALKEY_URL || undefined, { memoryRestored: true });
  if (store instanceof ValkeyCreditStore) await store.connected();
  if (!(await store.restoreStatus()).restored) await store.completeRestore(await store.beginRestore());
  return store;
};

/** The subject the scenario sends, with BENCH_GRANT credits: far more than a run can spend. */
export const grantBenchSubject = async (store: CreditStore): Promise<{ subject: string; granted: number }> => {
  const subject = requiredEnv('BENCH_SUBJECT');
  const amount = Number(requiredEnv('BENCH_GRANT'));
  const result = await store.applyGrant(subject, `bench-${randomUUID()}`, 'loadtest', amount);
  if (result.status !== 'applied') throw new Error(`granting ${subject} failed: ${result.status}`);
  return { subject, granted: result.balance };
};
