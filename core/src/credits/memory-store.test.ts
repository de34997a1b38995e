import { creditStoreContract } from '@tollgate/testkit/credit-store-contract';
import { MemoryCreditStore } from './memory-store.ts';

creditStoreContract('memory', {
  open: async () => new MemoryCreditStore({ restored: true }),
  // A new memory store is what a process finds at start: nothing restored.
  openUnrestored: async () => new MemoryCreditStore(),
});
