import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { loadTollgateConfig } from '@tollgate/core/config';
import { serveApp, type RunningServer } from '@tollgate/core/service';
import { awaitProducersAcked, restoreAcksFor, ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { DiskSpool, KafkaEmitter } from '@tollgate/core/event-path';
import { KafkaClient } from '@tollgate/core/kafka';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { GrantRepository, readLedgerTotals } from '@tollgate/core/ledger';
import { topUp } from '@tollgate/quota-sidecar';
import { createGatewayApp } from '@tollgate/gateway-plugin';
import { KafkaMeterSink } from '@tollgate/meter-sink';
import { kafkaMeteringCaughtUp, SyncWorker } from '@tollgate/sync-worker';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { startValkey, type ValkeyServer } from '@tollgate/testkit/valkey';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * A Valkey wiped while a debited call is still in its upstream, longer than the producers'
 * linger and the send margin a restore used to wait: the restore must still count that call.
 * Before the producers acknowledged restores, the restore read ClickHouse without the call's
 * event, gave the TPP its credit back, and the TPP spent it a second time. The gateway, the
 * sink and the sync worker run in this process over a real Valkey, Kafka and ClickHouse.
 */
const SLOW_MS = 3_000;
const LINGER_MS = 100;
const SEND_MARGIN_MS = 1_000;

let broker: KafkaBroker;
let valkey: ValkeyServer;
let store: ValkeyCreditStore;
let kafka: KafkaClient;
let clickhouse: ClickHouseClient;
let upstream: Server;
let upstreamUrl: string;
let dir: string;
let slowArrived = 0;

beforeAll(async () => {
  [broker, valkey] = await Promise.all([startKafka(), startValkey()]);
  store = new ValkeyCreditStore({ url: valkey.url });
  await store.connected();
  kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'restore-acks-test' });
  dir = mkdtempSync(join(tmpdir(), 'tollgate-restore-acks-'));
  clickhouse = openClickHouse({ dataDir: join(dir, 'ch') });
  await migrate(clickhouse);
  upstream = createServer((req, res) => {
    const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    if (req.url?.startsWith('/slow')) {
      slowArrived += 1;
      setTimeout(answer, SLOW_MS);
    } else answer();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await kafka?.close();
  await store?.close();
  await clickhouse?.close();
  await new Promise((resolve) => upstream?.close(resolve));
  await Promise.all([broker?.close(), valkey?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a restore after a wipe', () => {
  it('waits for the event of a call debited before the wipe that was still in its upstream, so the TPP cannot spend that credit twice', async () => {
    const logger = createLogger('test', 'silent');
    const topic = `restore-acks-${randomUUID()}`;
    const groupId = `g-${topic}`;
    await kafka.ensureTopics(topic, 3);
    const configFile = join(dir, 'tollgate.yaml');
    writeFileSync(
      configFile,
      [
        'subject: { header: x-tpp-id }',
        'credits: { defaultCost: 1, chargeOn: request, onStoreError: deny, storeTimeoutMs: 2000 }',
        'routes:',
        '  - { method: GET, path: /accounts, cost: 1 }',
        '  - { method: GET, path: /slow, cost: 1 }',
      ].join('\n'),
    );
    const config = loadTollgateConfig(configFile);
    const emitter = new KafkaEmitter({ kafka, topic, spool: new DiskSpool({ dir: join(dir, 'spool'), maxBytes: 16 * 1024 * 1024 }), logger, lingerMs: LINGER_MS });
    await emitter.start();
    const acks = restoreAcksFor(store, emitter, logger);
    const sink = new KafkaMeterSink({ kafka, clickhouse, topic, groupId, batchSize: 1_000, batchWaitMs: 50, logger });
    await sink.start();
    const app = createGatewayApp({ store, emitter, config, upstreamUrl, logger });
    const gateway: RunningServer = await serveApp(app);
    const worker = new SyncWorker({
      clickhouse,
      store,
      settleLagMs: 60_000,
      awaitMeteringCaughtUp: kafkaMeteringCaughtUp({
        kafka,
        topic,
        groupId,
        producerBoundMs: LINGER_MS + SEND_MARGIN_MS,
        producersAcked: (token, signal) => awaitProducersAcked(store, token, signal),
        pollMs: 50,
      }),
      logger,
    });
    const subject = `tpp-slow-${randomUUID().slice(0, 8)}`;
    const call = (path: string) => fetch(`${gateway.url}${path}`, { headers: { 'x-tpp-id': subject } }).then((r) => r.status);
    try {
      await topUp(store, new GrantRepository(clickhouse), { subject, amount: 3, reason: 'test', idempotencyKey: randomUUID() });
      expect([await call('/accounts'), await call('/accounts')]).toEqual([200, 200]);
      // The third credit goes to a call that stays in its upstream for SLOW_MS.
      const slow = call('/slow');
      await waitFor(() => slowArrived === 1, { what: 'the slow call in its upstream' });
      expect(await store.balance(subject)).toBe(0);

      await store.client.flushall();
      const restore = await worker.runOnce();
      expect(restore).toMatchObject({ kind: 'restore', caughtUp: true });
      expect(await slow).toBe(200);

      // All three calls are charged: the TPP has nothing left and is refused.
      expect(await store.balance(subject)).toBe(0);
      expect(await call('/accounts')).toBe(429);
      const [row] = await (await clickhouse.query({ query: `SELECT sum(cost) AS v FROM events WHERE subject = {s:String}`, query_params: { s: subject }, format: 'JSONEachRow' })).json<{ v: string }>();
      expect(Number(row?.v)).toBe(3);
      expect(await readLedgerTotals(clickhouse, store, subject)).toMatchObject({ difference: 0 });
    } finally {
      await gateway.close();
      await app.close();
      await emitter.close();
      await acks.stop();
      await sink.stop();
    }
  }, 90_000);
});
