import { describe, expect, inject, it } from 'vitest';
import { creditStoreContract } from './credit-store.contract.ts';
import { ValkeyCreditStore } from './valkey-store.ts';

const url = inject('valkeyUrl');
const open = async () => {
  const store = new ValkeyCreditStore({ url });
  await store.connected();
  return store;
};
creditStoreContract('valkey', open);

describe('valkey store scripts', () => {
  it('keeps working after the server lost its scripts (SCRIPT FLUSH)', async () => {
    const store = await open();
    try {
      const s = `tpp-flush-${Date.now()}`;
      expect(await store.applyGrant(s, 'k', 'h', 3)).toEqual({ status: 'applied', balance: 3 });
      await store.client.script('FLUSH');
      expect(await store.debit(s, 1, 1)).toEqual({ allowed: true, balance: 2 });
      await store.client.script('FLUSH');
      expect(await store.refund(s, 1, 1, 'r')).toEqual({ refunded: true, balance: 3 });
    } finally {
      await store.close();
    }
  });

  it('keeps every key of a subject in one cluster slot', async () => {
    const store = await open();
    try {
      const s = 'tpp-slot.1:a';
      await store.applyGrant(s, 'k', 'h', 1);
      await store.debit(s, 1, 1);
      const keys = await store.client.keys(`tg:{${s}}:*`);
      expect(keys.length).toBeGreaterThanOrEqual(3);
      const slots = new Set(await Promise.all(keys.map((k) => store.client.call('CLUSTER', 'KEYSLOT', k).catch(() => null))));
      // CLUSTER KEYSLOT answers on a standalone server too.
      expect(slots.size).toBe(1);
    } finally {
      await store.close();
    }
  });
});
