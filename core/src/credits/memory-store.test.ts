import { creditStoreContract } from './credit-store.contract.ts';
import { MemoryCreditStore } from './memory-store.ts';

creditStoreContract('memory', async () => new MemoryCreditStore());
