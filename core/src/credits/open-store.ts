import type { CreditStore } from './credit-store.ts';
import { MemoryCreditStore } from './memory-store.ts';
import { ValkeyCreditStore } from './valkey-store.ts';

/**
 * Valkey when a URL is given, the in-memory store (single process) otherwise. A new memory
 * store has lost whatever an earlier process held, so it starts unrestored: nothing is decided
 * from it until a restore reaches it (the sync worker's first run, or restoreStore at start) —
 * unless `memoryRestored`: the process has no ledger to restore it from.
 */
export const openCreditStore = (valkeyUrl: string | undefined, { memoryRestored = false }: { memoryRestored?: boolean } = {}): CreditStore =>
  valkeyUrl ? new ValkeyCreditStore({ url: valkeyUrl }) : new MemoryCreditStore({ restored: memoryRestored });
