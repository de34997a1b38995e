import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Agent, request } from 'undici';
import type { RunningServer } from '@tollgate/core/service';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { KafkaClient } from '@tollgate/core/kafka';
import { startSampleUpstream } from '@tollgate/sample-upstream';
import { freePort } from '@tollgate/testkit/free-port';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { spawnService, untilReady, type ServiceProcess } from '@tollgate/testkit/service-process';
import { waitFor } from '@tollgate/testkit/wait-for';

/** Bytes of the spool's segment files (`<n>.jsonl`) in `dir`, as the gauge should count them. */
const segmentBytesIn = (dir: string): number =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);

/**
 * A gateway process (Valkey store, Kafka emitter) as a new user runs it, with its broker
 * stopped: calls keep their latency (the request path never waits on Kafka, and nothing on the
 * event loop connects, retries or reads the spool synchronously), the events go to the disk
 * spool at once and its metrics show what it holds, and after the broker returns the spool
 * drains while calls keep their latency. The bounds catch a gross regression only; the cost
 * itself is measured by the benchmark round with the broker stopped (loadtest/).
 */
/** A budget no busy machine exceeds: this test is about Kafka, not the store's 50 ms (tested elsewhere). */
const CONFIG = join(mkdtempSync(join(tmpdir(), 'tollgate-down-config-')), 'tollgate.yaml');
writeFileSync(CONFIG, 'subject:\n  header: x-tpp-id\ncredits:\n  storeTimeoutMs: 5000\n');

let broker: KafkaBroker;
let upstream: RunningServer;
let kafka: KafkaClient;
beforeAll(async () => {
  [broker, upstream] = await Promise.all([startKafka(), startSampleUpstream()]);
  kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'kafka-down-latency-test' });
}, 120_000);
afterAll(async () => {
  await kafka?.close();
  await broker?.close();
  await upstream?.close();
});

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const summary = (latencies: number[]) => {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
};

/** The gauges of the emitter, read from /metrics. */
const gauges = async (url: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { events: value('tollgate_emitter_spool_events'), bytes: value('tollgate_emitter_spool_bytes'), inFlight: value('tollgate_emitter_in_flight_events') };
};

describe('gateway with its Kafka broker stopped', () => {
  it('answers as fast as before, spools every event at once with metrics that show what the spool holds, and drains it when Kafka returns', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    const topic = `down-${randomUUID()}`;
    const spoolDir = mkdtempSync(join(tmpdir(), 'tollgate-down-spool-'));
    const subject = `tpp-${randomUUID()}`;
    const store = new ValkeyCreditStore({ url: inject('valkeyUrl') });
    await store.connected();
    await store.applyGrant(subject, randomUUID(), 'h', 1_000_000);
    const gateway: ServiceProcess = spawnService(process.execPath, ['gateway-plugin/src/main.ts'], {
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      UPSTREAM_URL: upstream.url,
      VALKEY_URL: inject('valkeyUrl'),
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC: topic,
      SPOOL_DIR: spoolDir,
      TOLLGATE_CONFIG: CONFIG,
      LOG_LEVEL: 'error',
    });
    const dispatcher = new Agent({ connections: 1 });
    let calls = 0;
    /** Calls the gateway one at a time for `ms` (at most `max` calls); returns each call's latency. */
    const callFor = async (ms: number, max = 4_000) => {
      const latencies: number[] = [];
      const end = Date.now() + ms;
      while (Date.now() < end && latencies.length < max) {
        const started = performance.now();
        const res = await request(`${url}/accounts`, { dispatcher, headers: { 'x-tpp-id': subject } });
        await res.body.dump();
        latencies.push(performance.now() - started);
        expect(res.statusCode).toBe(200);
        calls++;
      }
      return latencies;
    };
    const onTopic = async () => (await kafka.endOffsets(topic)).reduce((n, p) => n + Number(p.end - p.start), 0);

    try {
      await untilReady(gateway, `${url}/readyz`);
      await callFor(1_000); // warm-up
      const normal = summary(await callFor(3_000));
      await waitFor(async () => (await onTopic()) >= calls, { timeoutMs: 30_000, what: 'every event of the warm-up on the topic' });
      const sentBefore = calls;

      await broker.stop();
      const down = summary(await callFor(4_000));
      const spooledCalls = calls - sentBefore;
      // Every event of the outage is on disk within seconds, and the gauges say so exactly.
      const held = await waitFor(
        async () => {
          const g = await gauges(metricsUrl);
          return g.events === spooledCalls && g.inFlight === 0 ? g : undefined;
        },
        { timeoutMs: 5_000, intervalMs: 100, what: `the spool gauge to show the ${spooledCalls} events of the outage` },
      );
      expect(held.bytes).toBe(segmentBytesIn(join(spoolDir, 'tollgate-gateway')));
      expect(held.bytes).toBeGreaterThan(spooledCalls * 100);

      await broker.start();
      const draining = summary(await callFor(3_000));
      await waitFor(async () => (await gauges(metricsUrl)).events === 0, { timeoutMs: 60_000, what: 'the spool drained' });
      await waitFor(async () => (await onTopic()) >= calls, { timeoutMs: 30_000, what: 'every event on the topic' });

      // Gross only: a call that waits on Kafka (tens of ms) breaks them; a busy machine does not.
      const bound = (n: { p50: number; p99: number }) => ({ p50: 3 * n.p50 + 10, p99: 4 * n.p99 + 50 });
      const context = JSON.stringify({ normal, down, draining });
      expect(down.p50, context).toBeLessThan(bound(normal).p50);
      expect(down.p99, context).toBeLessThan(bound(normal).p99);
      expect(draining.p50, context).toBeLessThan(bound(normal).p50);
      expect(draining.p99, context).toBeLessThan(bound(normal).p99);
      expect(down.n).toBeGreaterThan(100);
    } finally {
      await dispatcher.close();
      await store.close();
      expect(await gateway.stop('SIGTERM')).toBe(0);
    }
  }, 180_000);
});
