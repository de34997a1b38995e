import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startValkey, type ValkeyServer } from '@tollgate/testkit/valkey';
import { waitFor } from '@tollgate/testkit/wait-for';
import { DeliveryProgress } from '../events/delivery-progress.ts';
import { createLogger } from '../logger.ts';
import { storeKeys } from './keys.ts';
import { awaitProducersAcked, startRestoreAcks } from './restore-acks.ts';
import { ValkeyCreditStore } from './valkey-store.ts';

/** The producers' side of a restore's wait, against a real Valkey of its own (the keys are store-wide). */
let valkey: ValkeyServer;
let store: ValkeyCreditStore;
const logger = createLogger('test', 'silent');

beforeAll(async () => {
  valkey = await startValkey();
  store = new ValkeyCreditStore({ url: valkey.url });
  await store.connected();
});
afterAll(async () => {
  await store?.close();
  await valkey?.stop();
});

/** An emptied store and one producer marking it every 20 ms, with calls `open` still open. */
const startProducer = async (open: string[], ttlMs?: number) => {
  await store.client.flushall();
  const progress = new DeliveryProgress();
  for (const id of open) progress.open(id);
  const acks = startRestoreAcks({ store, progress, logger, intervalMs: 20, ...(ttlMs === undefined ? {} : { ttlMs }) });
  await waitFor(async () => (await store.client.sismember(storeKeys.producers, acks.id)) === 1, { what: 'the producer registered' });
  return { progress, acks };
};

describe('restore acknowledgements', () => {
  it('a restore waits for a producer until the call it had open when it saw the token has its event delivered', async () => {
    const { progress, acks } = await startProducer(['slow-call']);
    try {
      const token = await store.beginRestore();
      // The producer sees the token with the call still open: it does not acknowledge.
      await waitFor(async () => (await store.producersAcked(token)).status === 'waiting', { what: 'the restore waiting' });
      const waited = awaitProducersAcked(store, token, AbortSignal.timeout(10_000), 10);
      let done = false;
      void waited.then(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(done).toBe(false);
      expect(await store.producersAcked(token)).toEqual({ status: 'waiting', waiting: 1 });
      // The call's event is emitted, then delivered: now it acknowledges.
      progress.emitted(1);
      progress.close('slow-call');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(done).toBe(false);
      progress.delivered(1);
      await waited;
      expect(await store.producersAcked(token)).toEqual({ status: 'acked', waiting: 0 });
    } finally {
      await acks.stop();
    }
    expect(await store.client.sismember(storeKeys.producers, acks.id)).toBe(0);
  });

  it('stops waiting for a producer whose mark expired (it was killed), and drops it', async () => {
    const { acks } = await startProducer(['never-closed'], 300);
    const token = await store.beginRestore();
    await waitFor(async () => (await store.producersAcked(token)).status === 'waiting', { what: 'the restore waiting' });
    // Killed: it writes no mark any more (stop() would also remove it; a kill does not).
    await acks.stop().catch(() => undefined);
    await store.client.sadd(storeKeys.producers, acks.id);
    await store.client.set(storeKeys.producerMark + acks.id, '', 'PX', 300);
    await awaitProducersAcked(store, token, AbortSignal.timeout(5_000), 20);
    expect(await store.producersAcked(token)).toEqual({ status: 'acked', waiting: 0 });
    expect(await store.client.sismember(storeKeys.producers, acks.id)).toBe(0);
  });

  it('stops waiting when the store is wiped again (the token is gone): that restore is superseded', async () => {
    const { acks } = await startProducer(['open']);
    try {
      const token = await store.beginRestore();
      await waitFor(async () => (await store.producersAcked(token)).status === 'waiting', { what: 'the restore waiting' });
      const waited = awaitProducersAcked(store, token, AbortSignal.timeout(5_000), 10);
      await store.client.flushall();
      await waited;
      expect((await store.producersAcked(token)).status).toBe('superseded');
    } finally {
      await acks.stop();
    }
  });

  it('acknowledges a restore at once when nothing is open or undelivered', async () => {
    const { progress, acks } = await startProducer([]);
    progress.open('done');
    progress.emitted(1);
    progress.close('done');
    progress.delivered(1);
    try {
      const token = await store.beginRestore();
      await awaitProducersAcked(store, token, AbortSignal.timeout(5_000), 10);
      expect(await store.client.get(storeKeys.producerMark + acks.id)).toBe(token);
    } finally {
      await acks.stop();
    }
  });
});
