import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { pause } from '../backoff.ts';
import type { DeliveryCheckpoint, DeliveryProgress } from '../events/delivery-progress.ts';
import type { Logger } from '../logger.ts';
import type { EventEmitter } from '../events/emitter.ts';
import type { CreditStore } from './credit-store.ts';
import { ValkeyCreditStore } from './valkey-store.ts';

/** How often a producer writes its mark; a restore sees a wiped producer's mark again within it. */
export const PRODUCER_MARK_INTERVAL_MS = 100;
/** A mark not written again within this is a producer gone: a restore stops waiting for it. */
export const PRODUCER_MARK_TTL_MS = 3_000;

export interface RestoreAcksOptions {
  store: ValkeyCreditStore;
  progress: DeliveryProgress;
  logger: Logger;
  intervalMs?: number;
  ttlMs?: number;
}

/**
 * A producer's side of the restore's wait: it writes its mark every interval; when the mark's
 * answer names a restore under way, it takes a checkpoint of its calls and events there and
 * acknowledges the restore once the checkpoint is reached (delivery-progress.ts). The
 * restore reads ClickHouse only after every live producer acknowledged it and the sink took
 * what Kafka then held, so the events of calls debited before the loss are all counted, and
 * a slow send or a slow upstream delays the restore instead of letting a TPP spend twice.
 */
export const startRestoreAcks = ({ store, progress, logger, intervalMs = PRODUCER_MARK_INTERVAL_MS, ttlMs = PRODUCER_MARK_TTL_MS }: RestoreAcksOptions) => {
  const id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let acknowledged = '';
  let pending: { token: string; checkpoint: DeliveryCheckpoint } | undefined;
  let running = false;
  let failing = false;
  let failingSince: number | undefined;

  const mark = async (): Promise<void> => {
    if (pending && progress.reached(pending.checkpoint)) {
      acknowledged = pending.token;
      pending = undefined;
    }
    const token = await store.markProducer(id, acknowledged, ttlMs);
    if (token === undefined || token === acknowledged || token === pending?.token) return;
    pending = { token, checkpoint: progress.checkpoint() };
    // Nothing open and nothing undelivered: acknowledge at once rather than at the next interval.
    if (progress.reached(pending.checkpoint)) await mark();
  };

  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      await mark();
      if (failing) logger.info('producer mark written again', { id });
      failing = false;
      failingSince = undefined;
    } catch (err) {
      // Valkey away (or still connecting at start): a restore waits for this mark to come back,
      // or for it to expire. Said once, when it has lasted longer than a connection takes.
      failingSince ??= Date.now();
      if (!failing && Date.now() - failingSince >= ttlMs) {
        logger.warn('producer mark not written; retrying', { id, error: String(err) });
        failing = true;
      }
    } finally {
      running = false;
    }
  };

  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  void tick();
  return {
    id,
    /** Stops marking and removes the mark: call after the events were flushed. */
    async stop(): Promise<void> {
      clearInterval(timer);
      await store.removeProducer(id).catch(() => undefined);
    },
  };
};

/**
 * Resolves once every live producer acknowledged the restore `token`, or the token is no
 * longer the restore under way (then the restore's own end finds it superseded).
 */
export const awaitProducersAcked = async (store: ValkeyCreditStore, token: string, signal: AbortSignal, pollMs = 50): Promise<void> => {
  while (!signal.aborted) {
    if ((await store.producersAcked(token)).status !== 'waiting') return;
    await pause(pollMs, signal);
  }
};

/**
 * A service's producer side, where it applies: a Valkey store that a separate sync worker
 * restores, and an emitter that holds events in memory before Kafka has them. Elsewhere
 * (a memory store, the local event log) there is nothing to acknowledge: stop() does nothing.
 */
export const restoreAcksFor = (store: CreditStore, emitter: EventEmitter, logger: Logger): { stop(): Promise<void> } =>
  store instanceof ValkeyCreditStore && emitter.progress ? startRestoreAcks({ store, progress: emitter.progress, logger }) : { stop: async () => undefined };
