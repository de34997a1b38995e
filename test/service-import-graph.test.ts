import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '@tollgate/testkit/free-port';
import { loadedPackages } from '@tollgate/testkit/loaded-packages';

/**
 * Each service loads the clients it talks to and no other: core is imported by the groups a
 * service needs (@tollgate/core/kafka, /clickhouse, /credits/valkey …), never as a whole.
 * Each check runs a real process and reads which npm packages it loaded.
 */
const VALKEY = 'iovalkey';
const CLICKHOUSE = '@clickhouse/client';
const KAFKA = '@platformatic/kafka';

/** A gateway process with a memory store, run until it listens and then stopped. */
const gateway = async (env: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-gateway-loads-'));
  const run = await loadedPackages(
    ['gateway-plugin/src/main.ts'],
    {
      PORT: String(await freePort()),
      METRICS_PORT: String(await freePort()),
      UPSTREAM_URL: 'http://127.0.0.1:9',
      TOLLGATE_CONFIG: 'testkit/src/no-routes.yaml',
      SPOOL_DIR: join(dir, 'spool'),
      EVENT_LOG_DIR: join(dir, 'event-log'),
      CLICKHOUSE_DATA_DIR: join(dir, 'clickhouse'),
      ...env,
    },
    { until: /gateway listening/ },
  );
  expect(run.exitCode, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/"store":"memory"/);
  return run.packages;
};

/** A sidecar process (one worker), run until it listens and then stopped. */
const sidecar = async (env: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-sidecar-loads-'));
  const run = await loadedPackages(
    ['quota-sidecar/src/main.ts'],
    {
      PORT: String(await freePort()),
      TOLLGATE_CONFIG: 'testkit/src/no-routes.yaml',
      SPOOL_DIR: join(dir, 'spool'),
      EVENT_LOG_DIR: join(dir, 'event-log'),
      CLICKHOUSE_DATA_DIR: join(dir, 'clickhouse'),
      ...env,
    },
    { until: /"msg":"listening"/ },
  ).finally(() => rmSync(dir, { recursive: true, force: true }));
  expect(run.exitCode, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/"msg":"listening"/);
  return run;
};

/** A sync worker on the suite's Valkey, run until it has started and then stopped. */
const syncWorker = async (env: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-sync-loads-'));
  const run = await loadedPackages(
    ['sync-worker/src/main.ts'],
    { PORT: String(await freePort()), VALKEY_URL: inject('valkeyUrl'), CLICKHOUSE_DATA_DIR: join(dir, 'clickhouse'), ...env },
    { until: /"msg":"started"/ },
  ).finally(() => rmSync(dir, { recursive: true, force: true }));
  expect(run.exitCode, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/"msg":"started"/);
  return run.packages;
};

describe('what each service loads', () => {
  it('the meter sink starts with the Kafka and ClickHouse clients and without the Valkey client', async () => {
    // An invalid port stops it at its configuration check, after its whole import graph loaded.
    const run = await loadedPackages(['meter-sink/src/main.ts'], { PORT: 'not-a-port' });
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/PORT must be an integer/);
    expect(run.packages).toEqual(expect.arrayContaining([KAFKA, CLICKHOUSE]));
    expect(run.packages).not.toContain(VALKEY);
  });

  it('the gateway plugin with a memory store charges a call without loading a ClickHouse, Valkey or Kafka client', async () => {
    const code = `
      import { Hono } from 'hono';
      import { tollgate } from '@tollgate/gateway-plugin';
      import { parseTollgateConfig } from '@tollgate/core/config';
      import { MemoryCreditStore } from '@tollgate/core/credits';
      import { InProcessBus } from '@tollgate/core/events';
      const store = new MemoryCreditStore({ restored: true });
      await store.claimGrant('tpp-1', 'k', 'h');
      await store.applyGrant('tpp-1', 'k', 'h', 5);
      const app = new Hono();
      app.use(tollgate({ store, emitter: new InProcessBus(), config: parseTollgateConfig({}), subject: () => 'tpp-1' }));
      app.get('/accounts', (c) => c.json({ ok: true }));
      const res = await app.request('/accounts');
      console.log(JSON.stringify({ status: res.status, balance: await store.balance('tpp-1') }));
    `;
    const run = await loadedPackages(['--input-type=module', '-e', code]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ status: 200, balance: 4 });
    expect(run.packages).toContain('hono');
    for (const client of [CLICKHOUSE, VALKEY, KAFKA]) expect(run.packages).not.toContain(client);
  });

  it('the gateway with Kafka and a memory store loads the Kafka client, and neither the ClickHouse nor the Valkey client', async () => {
    // Nothing listens on the broker's port: the gateway starts all the same and spools.
    const packages = await gateway({ KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    expect(packages).toContain(KAFKA);
    expect(packages).not.toContain(CLICKHOUSE);
    expect(packages).not.toContain(VALKEY);
  });

  it('the gateway without Kafka stores its events in ClickHouse itself, and loads neither the Kafka nor the Valkey client', async () => {
    const packages = await gateway({});
    expect(packages).toContain(CLICKHOUSE);
    expect(packages).not.toContain(KAFKA);
    expect(packages).not.toContain(VALKEY);
  });

  it('the sample upstream loads none of the three clients', async () => {
    const run = await loadedPackages(['--input-type=module', '-e', "await import('@tollgate/sample-upstream');"]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.packages).toContain('hono');
    for (const client of [CLICKHOUSE, VALKEY, KAFKA]) expect(run.packages).not.toContain(client);
  });

  it('the sidecar with a memory store and without Kafka loads the ClickHouse client, and neither the Valkey nor the Kafka client', async () => {
    const run = await sidecar({});
    expect(run.stdout).toMatch(/"store":"memory"/);
    expect(run.stdout).toMatch(/"events":"event-log"/);
    expect(run.packages).toContain(CLICKHOUSE);
    expect(run.packages).not.toContain(VALKEY);
    expect(run.packages).not.toContain(KAFKA);
  });

  it('the sidecar with VALKEY_URL and KAFKA_BROKERS loads all three clients', async () => {
    // Nothing listens on the broker's port: the sidecar starts all the same and spools.
    const run = await sidecar({ VALKEY_URL: inject('valkeyUrl'), KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    expect(run.stdout).toMatch(/"store":"valkey"/);
    expect(run.stdout).toMatch(/"events":"kafka:/);
    expect(run.packages).toEqual(expect.arrayContaining([CLICKHOUSE, VALKEY, KAFKA]));
  });

  it('the sync worker without KAFKA_BROKERS loads the Valkey and ClickHouse clients, and not the Kafka client', async () => {
    const packages = await syncWorker({});
    expect(packages).toEqual(expect.arrayContaining([VALKEY, CLICKHOUSE]));
    expect(packages).not.toContain(KAFKA);
  });

  it('the sync worker with KAFKA_BROKERS loads the Kafka client too', async () => {
    const packages = await syncWorker({ KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    expect(packages).toEqual(expect.arrayContaining([VALKEY, CLICKHOUSE, KAFKA]));
  });
});
