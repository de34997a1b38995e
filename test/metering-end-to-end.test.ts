import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createLogger } from '@tollgate/core';
import { loadTollgateConfig } from '@tollgate/core/config';
import { serveApp, type RunningServer } from '@tollgate/core/service';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { DiskSpool, KafkaEmitter } from '@tollgate/core/event-path';
import { KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { GrantRepository } from '@tollgate/core/ledger';
import { createGatewayApp } from '@tollgate/gateway-plugin';
import { startSampleUpstream } from '@tollgate/sample-upstream';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { createSidecarApp } from '@tollgate/quota-sidecar';
import { inject } from 'vitest';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { waitFor } from '@tollgate/testkit/wait-for';

const CONFIG = new URL('../deploy/config/tollgate.yaml', import.meta.url).pathname;
const TOKEN = 'e2e-token';

let broker: KafkaBroker;
let upstream: RunningServer;
beforeAll(async () => {
  [broker, upstream] = await Promise.all([startKafka(), startSampleUpstream()]);
}, 120_000);
afterAll(async () => {
  await broker?.close();
  await upstream?.close();
});

interface Row {
  value: number;
  subject: string | null;
  groupBy: Record<string, string | null>;
}

describe('metering end to end: gateway → Kafka → meter-sink → ClickHouse → meter query', () => {
  it('counts exactly the requests made, grouped by endpoint and method as configured', async () => {
    const loaded = loadTollgateConfig(CONFIG);
    // The sink's embedded ClickHouse shares this process's event loop; a generous store budget
    // keeps this test about metering, not about the 50 ms budget (tested on its own elsewhere).
    const config = { ...loaded, credits: { ...loaded.credits, storeTimeoutMs: 5_000 } };
    const topic = `e2e-${randomUUID()}`;
    const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'e2e' });
    await kafka.ensureTopics(topic, 3);
    const clickhouse = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-e2e-ch-')) });
    await migrate(clickhouse);
    const logger = createLogger('e2e', 'silent');
    const store = new ValkeyCreditStore({ url: inject('valkeyUrl') });
    await store.connected();
    const spool = new DiskSpool({ dir: mkdtempSync(join(tmpdir(), 'tollgate-e2e-spool-')), maxBytes: 64 * 1024 * 1024 });
    const emitter = new KafkaEmitter({ kafka, topic, spool, logger });
    await emitter.start();
    const sink = new KafkaMeterSink({ kafka, clickhouse, topic, groupId: `g-${topic}`, batchSize: 1_000, batchWaitMs: 100, logger });
    await sink.start();
    const gatewayApp = createGatewayApp({ store, emitter, config, upstreamUrl: upstream.url, logger });
    const gateway = await serveApp(gatewayApp);
    const sidecar = createSidecarApp({ store, grants: new GrantRepository(clickhouse), config, adminTokens: [TOKEN], clickhouse, logger });
    const dispatcher = new Agent({ connections: 16 });
    const subject = `tpp-e2e-${randomUUID().slice(0, 8)}`;

    try {
      const topUp = await sidecar.request(`http://sidecar/admin/v1/subjects/${subject}/credits`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ amount: 100_000, reason: 'e2e' }),
      });
      expect(topUp.status).toBe(201);

      const plan: [string, string, number][] = [
        ['GET', '/accounts', 120],
        ['GET', '/accounts/22289', 70],
        ['GET', '/accounts/22289/balances', 50],
        ['POST', '/payments', 60],
      ];
      const payment = JSON.stringify({
        Data: { Initiation: { InstructionIdentification: 'e2e', InstructedAmount: { Amount: '1.00', Currency: 'GBP' } } },
      });
      const calls = plan.flatMap(([method, path, n]) => Array.from({ length: n }, () => [method, path] as const));
      const statuses = await Promise.all(
        calls.map(async ([method, path]) => {
          const res = await request(`${gateway.url}${path}`, {
            dispatcher,
            method,
            headers: { 'x-tpp-id': subject, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
            ...(method === 'POST' ? { body: payment } : {}),
          });
          await res.body.dump();
          return res.statusCode;
        }),
      );
      expect(statuses.filter((s) => s >= 400)).toEqual([]);
      const n = calls.length;

      const query = async (): Promise<Row[]> => {
        const res = await sidecar.request(
          `http://sidecar/api/v1/meters/api_calls/query?subject=${subject}&groupBy=subject&groupBy=endpoint&groupBy=method`,
          { headers: { authorization: `Bearer ${TOKEN}` } },
        );
        expect(res.status).toBe(200);
        return ((await res.json()) as { data: Row[] }).data;
      };
      const total = (rows: Row[]) => rows.reduce((sum, r) => sum + r.value, 0);
      await waitFor(async () => total(await query()) >= n, { timeoutMs: 60_000, intervalMs: 200, what: `${n} calls in the meter` });

      const rows = await query();
      expect(total(rows)).toBe(n);
      const byGroup = Object.fromEntries(rows.map((r) => [`${r.groupBy.method} ${r.groupBy.endpoint}`, r.value]));
      expect(byGroup).toEqual({
        'GET /accounts': 120,
        'GET /accounts/22289': 70,
        'GET /accounts/22289/balances': 50,
        'POST /payments': 60,
      });
      expect(rows.every((r) => r.subject === subject)).toBe(true);
    } finally {
      await gateway.close();
      await dispatcher.close();
      await gatewayApp.close();
      await emitter.close();
      await sink.stop();
      await store.close();
      await clickhouse.close();
      await kafka.close();
    }
  }, 180_000);
});
