import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningServer } from '@tollgate/core/service';
import { KafkaClient } from '@tollgate/core/kafka';
import { startSampleUpstream } from '@tollgate/sample-upstream';
import { freePort } from '@tollgate/testkit/free-port';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { spawnService, untilReady, type ServiceProcess } from '@tollgate/testkit/service-process';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * Every service started as a real process against real Valkey and Kafka, made to do its first
 * piece of work (connect, send, consume), prints no warning on stderr: neither a Node process
 * warning (kafkajs printed `TimeoutNegativeWarning` on Node 24 at every connect) nor a warn or
 * error line of its own log.
 */
/** A store budget no busy machine exceeds (the 50 ms one is tested elsewhere). */
const CONFIG = join(mkdtempSync(join(tmpdir(), 'tollgate-quiet-config-')), 'tollgate.yaml');
writeFileSync(CONFIG, 'subject:\n  header: x-tpp-id\ncredits:\n  storeTimeoutMs: 5000\n');
const MAIN = {
  gateway: 'gateway-plugin/src/main.ts',
  sidecar: 'quota-sidecar/src/main.ts',
  sink: 'meter-sink/src/main.ts',
  sync: 'sync-worker/src/main.ts',
};
const TOKEN = 'quiet-start-token';
const AUTHORIZE_TOKEN = 'quiet-start-authorize-token';

let broker: KafkaBroker;
let upstream: RunningServer;
let kafka: KafkaClient;
beforeAll(async () => {
  [broker, upstream] = await Promise.all([startKafka(), startSampleUpstream()]);
  kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'quiet-start-test' });
}, 120_000);
afterAll(async () => {
  await kafka?.close();
  await broker?.close();
  await upstream?.close();
});

const warnings = (stderr: string) =>
  stderr.split('\n').filter((line) => /warning/i.test(line) || /"level":"(warn|error)"/.test(line));

const recordsOn = async (topic: string) => (await kafka.endOffsets(topic).catch(() => [])).reduce((n, p) => n + Number(p.end - p.start), 0);

/** Starts the service, lets `work` make it do something, then checks stderr and a clean SIGTERM. */
const quietly = async (service: ServiceProcess, work: () => Promise<void>) => {
  try {
    await work();
    expect(warnings(service.stderr())).toEqual([]);
  } finally {
    expect(await service.stop('SIGTERM')).toBe(0);
  }
  expect(warnings(service.stderr())).toEqual([]);
};

const dir = () => mkdtempSync(join(tmpdir(), 'tollgate-quiet-'));

describe('services start without warnings', () => {
  it('gateway, with Valkey and Kafka, through its first call', async () => {
    const port = await freePort();
    const topic = `quiet-gw-${randomUUID()}`;
    const gateway = spawnService(process.execPath, [MAIN.gateway], {
      PORT: String(port),
      METRICS_PORT: String(await freePort()),
      UPSTREAM_URL: upstream.url,
      VALKEY_URL: inject('valkeyUrl'),
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC: topic,
      SPOOL_DIR: dir(),
      TOLLGATE_CONFIG: CONFIG,
    });
    await quietly(gateway, async () => {
      await untilReady(gateway, `http://127.0.0.1:${port}/readyz`);
      const res = await fetch(`http://127.0.0.1:${port}/accounts`, { headers: { 'x-tpp-id': `tpp-${randomUUID()}` } });
      await res.arrayBuffer();
      expect(res.status).toBe(429); // no credits: decided, answered, and its event sent
      await waitFor(async () => (await recordsOn(topic)) >= 1, { timeoutMs: 30_000, what: 'the event on the topic' });
    });
  });

  it('quota sidecar, with Valkey and Kafka, through an authorize call', async () => {
    const port = await freePort();
    const topic = `quiet-sc-${randomUUID()}`;
    const sidecar = spawnService(process.execPath, [MAIN.sidecar], {
      PORT: String(port),
      ADMIN_TOKENS: TOKEN,
      AUTHORIZE_TOKENS: AUTHORIZE_TOKEN,
      TOLLGATE_CONFIG: CONFIG,
      VALKEY_URL: inject('valkeyUrl'),
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC: topic,
      SPOOL_DIR: dir(),
      CLICKHOUSE_DATA_DIR: join(dir(), 'chdb'),
    });
    await quietly(sidecar, async () => {
      await untilReady(sidecar, `http://127.0.0.1:${port}/readyz`);
      const res = await fetch(`http://127.0.0.1:${port}/v1/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'tollgate-authorize-token': AUTHORIZE_TOKEN },
        body: JSON.stringify({ subject: `tpp-${randomUUID()}`, method: 'GET', path: '/accounts' }),
      });
      await res.arrayBuffer();
      expect(res.status).toBe(429);
      await waitFor(async () => (await recordsOn(topic)) >= 1, { timeoutMs: 30_000, what: 'the decision on the topic' });
    });
  });

  it('meter-sink, consuming from Kafka into ClickHouse', async () => {
    const port = await freePort();
    const topic = `quiet-sink-${randomUUID()}`;
    const sink = spawnService(process.execPath, [MAIN.sink], {
      PORT: String(port),
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC: topic,
      CLICKHOUSE_DATA_DIR: join(dir(), 'chdb'),
      SINK_SESSION_TIMEOUT_MS: '6000',
    });
    await quietly(sink, async () => {
      await untilReady(sink, `http://127.0.0.1:${port}/readyz`);
      await waitFor(async () => (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).includes('tollgate_sink_consumer_lag{'), {
        timeoutMs: 30_000,
        what: 'a lag measurement',
      });
    });
  });

  it('sync worker, with Valkey and ClickHouse', async () => {
    const port = await freePort();
    const sync = spawnService(process.execPath, [MAIN.sync], {
      PORT: String(port),
      VALKEY_URL: inject('valkeyUrl'),
      CLICKHOUSE_DATA_DIR: join(dir(), 'chdb'),
      SYNC_INTERVAL_MS: '200',
    });
    await quietly(sync, async () => {
      await untilReady(sync, `http://127.0.0.1:${port}/readyz`);
      await waitFor(async () => (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).includes('tollgate_reconcile_runs_total{'), {
        timeoutMs: 30_000,
        what: 'a reconciliation run',
      });
    });
  });

  it('npm start, through a call of its gateway', async () => {
    const [port, sidecarPort, upstreamPort] = [await freePort(), await freePort(), await freePort()];
    const data = dir();
    // bash as npm's script shell runs the script in place of the shell, so npm passes SIGTERM to it.
    const standalone = spawnService('npm', ['--script-shell=bash', 'start'], {
      PORT: String(port),
      SIDECAR_PORT: String(sidecarPort),
      SAMPLE_UPSTREAM_PORT: String(upstreamPort),
      CLICKHOUSE_DATA_DIR: join(data, 'chdb'),
      EVENT_LOG_DIR: join(data, 'event-log'),
      ADMIN_TOKENS: TOKEN,
    });
    await quietly(standalone, async () => {
      await untilReady(standalone, `http://127.0.0.1:${port}/readyz`);
      await untilReady(standalone, `http://127.0.0.1:${sidecarPort}/readyz`);
      const res = await fetch(`http://127.0.0.1:${port}/accounts`, { headers: { 'x-tpp-id': `tpp-${randomUUID()}` } });
      await res.arrayBuffer();
      expect(res.status).toBe(429);
    });
  });
});
