import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createLogger } from '@tollgate/core';
import { parseTollgateConfig } from '@tollgate/core/config';
import { serveApp, type RunningServer } from '@tollgate/core/service';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { DiskSpool, KafkaEmitter } from '@tollgate/core/event-path';
import { KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { createGatewayApp } from '@tollgate/gateway-plugin';
import { startSampleUpstream } from '@tollgate/sample-upstream';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { waitFor } from '@tollgate/testkit/wait-for';

const OUTAGE_MS = 30_000;
let broker: KafkaBroker;
let upstream: RunningServer;
beforeAll(async () => {
  [broker, upstream] = await Promise.all([startKafka(), startSampleUpstream()]);
}, 120_000);
afterAll(async () => {
  await broker?.close();
  await upstream?.close();
});

describe('gateway with Kafka stopped for 30 s', () => {
  it('fails no request because of metering, and every event arrives once after the broker returns', async () => {
    const topic = `outage-${randomUUID()}`;
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'outage-test' });
    await kafka.ensureTopics(topic, 3);
    const clickhouse = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-outage-ch-')) });
    await migrate(clickhouse);
    const logger = createLogger('outage', 'silent');
    const spool = new DiskSpool({ dir: mkdtempSync(join(tmpdir(), 'tollgate-outage-spool-')), maxBytes: 256 * 1024 * 1024 });
    const emitter = new KafkaEmitter({ kafka, topic, spool, logger });
    await emitter.start();
    const sink = new KafkaMeterSink({ kafka, clickhouse, topic, groupId: `g-${topic}`, batchSize: 5_000, batchWaitMs: 100, logger });
    await sink.start();

    const store = new MemoryCreditStore({ restored: true });
    const subject = 'tpp-outage';
    await store.applyGrant(subject, 'k', 'h', 1_000_000);
    const app = createGatewayApp({ store, emitter, config: parseTollgateConfig({}), upstreamUrl: upstream.url, logger });
    const gateway = await serveApp(app);
    const dispatcher = new Agent({ connections: 8 });

    const statuses = new Map<number, number>();
    let running = true;
    const client = async () => {
      while (running) {
        const res = await request(`${gateway.url}/accounts`, { dispatcher, headers: { 'x-tpp-id': subject } });
        await res.body.dump();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        await new Promise((r) => setImmediate(r));
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, client));
    const served = () => [...statuses.values()].reduce((a, b) => a + b, 0);
    const count = async () => {
      const r = await clickhouse.query({ query: 'SELECT count() AS n FROM events WHERE subject = {s:String}', query_params: { s: subject }, format: 'JSONEachRow' });
      return Number((await r.json<{ n: string | number }>())[0]?.n);
    };

    try {
      await waitFor(() => served() > 500, { timeoutMs: 30_000, what: 'traffic before the outage' });
      await broker.stop();
      const downAt = served();
      const outageEnds = Date.now() + OUTAGE_MS;
      await waitFor(() => Date.now() >= outageEnds, { timeoutMs: OUTAGE_MS + 5_000, intervalMs: 200, what: 'the outage to last 30 s' });
      const servedDuringOutage = served() - downAt;
      expect(emitter.spooled).toBeGreaterThan(0);
      await broker.start();
      await waitFor(() => served() > downAt + servedDuringOutage + 500, { timeoutMs: 30_000, what: 'traffic after the outage' });
      running = false;
      await load;

      expect(servedDuringOutage).toBeGreaterThan(500);
      expect([...statuses.keys()]).toEqual([200]); // no request failed because of metering
      const total = served();
      expect(await emitter.drained(120_000)).toBe(true);
      await waitFor(async () => (await count()) >= total, { timeoutMs: 120_000, intervalMs: 250, what: `${total} events in ClickHouse` });
      expect(await count()).toBe(total); // every event, none twice
    } finally {
      running = false;
      await load.catch(() => undefined);
      await gateway.close();
      await dispatcher.close();
      await app.close();
      await emitter.close();
      await sink.stop();
      await clickhouse.close();
      await kafka.close();
    }
  }, 300_000);
});
