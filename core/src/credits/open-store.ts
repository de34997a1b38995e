import type { CreditStore } from './credit-store.ts';
import { MemoryCreditStore } from './memory-store.ts';
import { ValkeyCreditStore } from './valkey-store.ts';

/** Valkey when a URL is given, the in-memory store (single process) otherwise. */
export const openCreditStore = (valkeyUrl: string | undefined): CreditStore =>
  valkeyUrl ? new ValkeyCreditStore({ url: valkeyUrl }) : new MemoryCreditStore();
