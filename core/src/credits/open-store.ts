import type { CreditStore } from './credit-store.ts';
import { MemoryCreditStore } from './memory-store.ts';

/**
 * Valkey when a URL is given, the in-memory store (single process) otherwise; the Valkey client
 * is loaded only then. A new memory store has lost whatever an earlier process held, so it
 * starts unrestored: nothing is decided from it until a restore reaches it (the sync worker's
 * first run, or restoreStore at start) — unless `memoryRestored`: the process has no ledger to
 * restore it from.
 */
export const openCreditStore = async (valkeyUrl: string | undefined, { memoryRestored = false }: { memoryRestored?: boolean } = {}): Promise<CreditStore> => {
  if (!valkeyUrl) return new MemoryCreditStore({ restored: memoryRestored });
  const { ValkeyCreditStore } = await import('./valkey-store.ts');
  return new ValkeyCreditStore({ url: valkeyUrl });
};
