import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { startValkey, type ValkeyServer } from '@tollgate/testkit/valkey';

/**
 * How many EVALSHA calls the Valkey store sends for a turn's debits, read from the server's
 * command statistics: on a Valkey of its own, since any other client's calls would count too.
 */
describe('Valkey debit calls', () => {
  let valkey: ValkeyServer;
  let store: ValkeyCreditStore;
  beforeAll(async () => {
    valkey = await startValkey();
    store = new ValkeyCreditStore({ url: valkey.url });
    await store.connected();
  });
  afterAll(async () => {
    await store.close();
    await valkey.stop();
  });
  const evalshaCalls = async () => Number((await store.client.info('commandstats')).match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0);

  it('sends the debits of one turn as one call, applied in order, once each after SCRIPT FLUSH', async () => {
    const s = `tpp-batch-${Date.now()}`;
    await store.applyGrant(s, 'k', 'h', 3);
    await store.client.script('FLUSH');
    const before = await evalshaCalls();
    const results = await Promise.all(Array.from({ length: 5 }, () => store.debit(s, 1, 7)));
    const after = await evalshaCalls();
    expect(results).toEqual([
      { allowed: true, balance: 2 },
      { allowed: true, balance: 1 },
      { allowed: true, balance: 0 },
      { allowed: false, balance: 0 },
      { allowed: false, balance: 0 },
    ]);
    // One call answered NOSCRIPT, the same batch went again once: two calls for five debits.
    expect(after - before).toBe(2);
    expect(await store.realtimeBuckets(s)).toEqual(new Map([[7, 3]]));
  });
});
