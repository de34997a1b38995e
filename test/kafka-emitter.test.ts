import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiCallEvent, createLogger, DiskSpool, ensureTopics, KafkaEmitter, openKafka } from '@tollgate/core';
import { startKafka, type KafkaBroker } from './harness/kafka.ts';
import { waitFor } from './harness/wait-for.ts';

let broker: KafkaBroker;
beforeAll(async () => {
  broker = await startKafka();
}, 120_000);
afterAll(() => broker?.close());

const event = (subject: string, n: number) =>
  buildApiCallEvent({
    source: 'emitter-test',
    subject,
    timeMs: Date.now(),
    id: `${subject}-${n}`,
    data: { endpoint: '/accounts', method: 'GET', status_code: 200, response_time_ms: 1, cost: 1, decision: 'debited' },
  });

/** Reads the whole topic from the start with a fresh group; returns the ids per subject, in order. */
const readAll = async (topic: string, expected: number): Promise<Map<string, string[]>> => {
  const kafka = openKafka([broker.brokers], 'emitter-test-reader');
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  const bySubject = new Map<string, string[]>();
  let count = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const e = JSON.parse(String(message.value)) as { id: string; subject: string };
      expect(String(message.key)).toBe(e.subject);
      // At least once: a batch retried after a partial failure may repeat; the sink drops repeats.
      const ids = bySubject.get(e.subject) ?? [];
      if (!ids.includes(e.id)) {
        bySubject.set(e.subject, [...ids, e.id]);
        count++;
      }
    },
  });
  try {
    await waitFor(() => count >= expected, { timeoutMs: 60_000, what: `${expected} messages on ${topic}` });
    return bySubject;
  } finally {
    await consumer.disconnect();
  }
};

describe('KafkaEmitter against a real broker', () => {
  it('delivers every event once, in order per subject, across a broker outage (spooled to disk meanwhile)', async () => {
    const topic = `emitter-${randomUUID()}`;
    const kafka = openKafka([broker.brokers], 'emitter-test');
    await ensureTopics(kafka, topic, 3);
    const spool = new DiskSpool({ dir: mkdtempSync(join(tmpdir(), 'tollgate-emitter-spool-')), maxBytes: 64 * 1024 * 1024 });
    const emitter = new KafkaEmitter({ kafka, topic, spool, logger: createLogger('test', 'silent') });
    await emitter.start();

    const subjects = ['tpp-a', 'tpp-b', 'tpp-c'];
    let n = 0;
    const emitRound = (count: number) => {
      for (let i = 0; i < count; i++, n++) emitter.emit(event(subjects[n % 3] ?? 'tpp-a', n));
    };
    emitRound(1_000);
    await emitter.flush();

    await broker.stop();
    const started = Date.now();
    emitRound(1_000); // emit never waits on Kafka
    expect(Date.now() - started).toBeLessThan(1_000);
    await waitFor(() => emitter.spooled > 0, { timeoutMs: 30_000, what: 'events spooled while the broker is down' });
    emitRound(500);

    await broker.start();
    expect(await emitter.drained(90_000)).toBe(true);
    const got = await readAll(topic, 2_500);
    for (const [s, ids] of got) {
      const expected = Array.from({ length: 2_500 }, (_, i) => i).filter((i) => subjects[i % 3] === s).map((i) => `${s}-${i}`);
      expect(ids).toEqual(expected); // all of them, in emit order
    }
    expect([...got.values()].reduce((sum, ids) => sum + ids.length, 0)).toBe(2_500);
    await emitter.close();
  }, 240_000);
});
