import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { metrics } from '@tollgate/core/metrics';
import { buildApiCallEvent } from '@tollgate/core/events';
import { DiskSpool, KafkaEmitter } from '@tollgate/core/event-path';
import { KafkaClient } from '@tollgate/core/kafka';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { readTopic } from '@tollgate/testkit/read-topic';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * How the Kafka emitter fills its batches (the producer costs far less per event in large
 * ones): a batch holds what its linger gathered, also when the batch before was still being
 * sent; no delivery holds more than maxBatch events, and a full buffer does not wait for its
 * linger. Deliveries are read from `tollgate_emitter_batch_events`.
 */
let broker: KafkaBroker;
let kafka: KafkaClient;
beforeAll(async () => {
  broker = await startKafka();
  kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'emitter-batching-test' });
}, 120_000);
afterAll(async () => {
  await kafka?.close();
  await broker?.close();
});

const event = (n: number) =>
  buildApiCallEvent({
    source: 'batching-test',
    subject: `tpp-${n % 5}`,
    timeMs: Date.now(),
    id: `e-${n}`,
    data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 1, cost: 1, decision: 'debited' },
  });

/** Deliveries so far, how many of them held at most `le` events, and their events. */
const deliveries = async (le: number) => {
  const values = (await metrics.emitterBatchEvents.get()).values;
  const pick = (suffix: string, bound?: number) =>
    values.find((v) => v.metricName?.endsWith(suffix) && (bound === undefined || v.labels.le === bound))?.value ?? 0;
  return { count: pick('_count'), atMost: pick('_bucket', le), events: pick('_sum') };
};

const emitterFor = async (topic: string, options: { lingerMs: number; maxBatch?: number }) => {
  await kafka.ensureTopics(topic, 2);
  const spool = new DiskSpool({ dir: mkdtempSync(join(tmpdir(), 'tollgate-batching-spool-')), maxBytes: 64 * 1024 * 1024 });
  const emitter = new KafkaEmitter({ kafka, topic, spool, logger: createLogger('test', 'silent'), ...options });
  await emitter.start();
  return emitter;
};

const onTopic = async (topic: string) => (await kafka.endOffsets(topic)).reduce((n, p) => n + Number(p.end - p.start), 0);

describe('KafkaEmitter batches', () => {
  it('hold what the linger gathered, also while the batch before is still being sent', async () => {
    const topic = `batching-${randomUUID()}`;
    const emitter = await emitterFor(topic, { lingerMs: 250 });
    const before = await deliveries(5_000);
    // One event every 2 ms for 1.5 s: the broker answers each send in a few ms, far sooner than
    // the linger, so a batch that went as soon as the one before was answered would be small.
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < 1_500) {
      emitter.emit(event(n++));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await emitter.flush();
    const after = await deliveries(5_000);
    const sent = after.count - before.count;
    expect(after.events - before.events).toBe(n);
    // 1.5 s of events in batches of ~250 ms each: 6 or 7, the last one cut by the flush.
    expect(sent, `${n} events in ${sent} deliveries`).toBeGreaterThanOrEqual(4);
    expect(sent, `${n} events in ${sent} deliveries`).toBeLessThanOrEqual(9);
    const records = await readTopic(kafka, topic, (r) => r.length >= n);
    expect(new Set(records.map((r) => String(r.value))).size).toBe(n);
    await emitter.close();
  }, 60_000);

  it('never hold more than maxBatch events, and a full buffer goes without waiting for its linger', async () => {
    const topic = `batching-max-${randomUUID()}`;
    const emitter = await emitterFor(topic, { lingerMs: 60_000, maxBatch: 100 });
    const before = await deliveries(100);
    for (let n = 0; n < 1_050; n++) emitter.emit(event(n));
    // 1,000 events fill ten batches, sent long before the minute-long linger ends; 50 linger.
    await waitFor(async () => (await onTopic(topic)) >= 1_000, { timeoutMs: 30_000, what: 'ten full batches on the topic' });
    const full = await deliveries(100);
    expect(full.count - before.count).toBe(10);
    expect(full.atMost - before.atMost).toBe(10);
    expect(await onTopic(topic)).toBe(1_000);
    // The rest goes at the flush (as at a stop), in one more delivery.
    await emitter.flush();
    expect(await onTopic(topic)).toBe(1_050);
    const after = await deliveries(100);
    expect(after.count - before.count).toBe(11);
    expect(after.atMost - after.count).toBe(before.atMost - before.count);
    await emitter.close();
  }, 60_000);
});
