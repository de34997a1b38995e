import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnSidecar, type SidecarProcess } from '@tollgate/testkit/sidecar-process';
import { startClickHouseFront, type ClickHouseFront } from '@tollgate/testkit/clickhouse-http';
import { freePort } from '@tollgate/testkit/free-port';
import { waitFor } from '@tollgate/testkit/wait-for';

const TOKEN = 'workers-token';

/** POST /v1/authorize on a connection of its own, so that the cluster hands it to any worker. */
const authorizeOnNewConnection = (url: string, subject: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const body = JSON.stringify({ subject, method: 'GET', path: '/accounts' });
    const req = request(`${url}/v1/authorize`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });

const workerPids = (primary: number): number[] =>
  readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

const metricValue = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
};

/** SIDECAR_WORKERS=2: two processes on one port, against real Valkey and a ClickHouse server. */
describe('quota-sidecar with SIDECAR_WORKERS=2', () => {
  let clickhouse: ClickHouseFront;
  let sidecar: SidecarProcess;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-sidecar-workers-'));

  beforeAll(async () => {
    // A budget no busy test machine exceeds: every answer below is the store's decision.
    const config = join(dir, 'tollgate.yaml');
    writeFileSync(config, 'credits:\n  storeTimeoutMs: 5000\n');
    clickhouse = await startClickHouseFront();
    const port = await freePort();
    sidecar = await spawnSidecar({
      PORT: String(port),
      SIDECAR_WORKERS: '2',
      VALKEY_URL: inject('valkeyUrl'),
      CLICKHOUSE_URL: clickhouse.url,
      ADMIN_TOKENS: TOKEN,
      LOG_LEVEL: 'info',
      TOLLGATE_CONFIG: config,
    });
    // The port answers once the first worker listens; the requests below must meet both.
    const listening = (worker: number) => new RegExp(`"msg":"listening".*"worker":${worker}`).test(sidecar.output());
    await waitFor(() => listening(0) && listening(1), { what: 'both workers to listen', timeoutMs: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.stop('SIGKILL');
    await clickhouse?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('debits each credit once across workers, and /metrics on any worker counts every worker', async () => {
    const subject = `tpp-workers-${Date.now()}`;
    const topUp = await fetch(`${sidecar.url}/admin/v1/subjects/${subject}/credits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'idempotency-key': `k-${subject}` },
      body: JSON.stringify({ amount: 50 }),
    });
    expect(topUp.status).toBe(201);

    const statuses = await Promise.all(Array.from({ length: 80 }, () => authorizeOnNewConnection(sidecar.url, subject)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);

    expect(workerPids(sidecar.pid)).toHaveLength(2);
    // Each worker served about half; only the primary's aggregation shows all 80 decisions.
    for (let i = 0; i < 4; i++) {
      const text = await (await fetch(`${sidecar.url}/metrics`, { headers: { connection: 'close' } })).text();
      expect(metricValue(text, 'tollgate_credit_decisions_total{decision="debited",component="quota-sidecar"}')).toBeGreaterThanOrEqual(50);
      expect(metricValue(text, 'tollgate_credit_decisions_total{decision="denied",component="quota-sidecar"}')).toBeGreaterThanOrEqual(30);
    }
  });

  it('answers replay requests with 503 naming the reason when it runs without Kafka', async () => {
    const res = await fetch(`${sidecar.url}/admin/v1/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: '2026-01-01T00:00:00Z' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toContain('KAFKA_BROKERS');
  });

  it('creates a meter exactly once across workers: of concurrent creates of one slug one is 201, the rest 409, and every worker answers with that one', async () => {
    const slug = `race_${Date.now()}`;
    const create = (i: number) =>
      fetch(`${sidecar.url}/api/v1/meters`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ slug, eventType: `type-${i}`, aggregation: 'COUNT' }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as { id?: string; eventType?: string } }));
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => create(i)));
    const created = answers.filter((a) => a.status === 201);
    expect(created).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(11);
    const get = () => fetch(`${sidecar.url}/api/v1/meters/${slug}`, { headers: { authorization: `Bearer ${TOKEN}`, connection: 'close' } });
    for (const res of await Promise.all(Array.from({ length: 8 }, get))) {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(created[0]?.body);
    }
    const deleted = await fetch(`${sidecar.url}/api/v1/meters/${slug}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}`, connection: 'close' } });
    expect(deleted.status).toBe(204);
    expect((await Promise.all(Array.from({ length: 8 }, get))).map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 404));
  });

  it('starts a crashed worker again, keeps answering meanwhile, and stops every worker on SIGTERM', async () => {
    const [victim = -1, survivor = -1] = workerPids(sidecar.pid);
    process.kill(victim, 'SIGKILL');
    await waitFor(() => sidecar.output().includes('a worker stopped; starting it again'), { timeoutMs: 10_000 });
    const subject = `tpp-workers-crash-${Date.now()}`;
    // No credits: every answer is a decision (429), from the survivor or the restarted worker.
    const statuses = await Promise.all(Array.from({ length: 20 }, () => authorizeOnNewConnection(sidecar.url, subject)));
    expect(statuses).toEqual(Array.from({ length: 20 }, () => 429));
    await waitFor(() => workerPids(sidecar.pid).length === 2 && !workerPids(sidecar.pid).includes(victim), { timeoutMs: 15_000 });
    // The restarted worker serves again: a third "listening", with the index of the one it replaces.
    await waitFor(() => (sidecar.output().match(/"msg":"listening"/g)?.length ?? 0) === 3, { timeoutMs: 15_000 });
    expect(workerPids(sidecar.pid)).toContain(survivor);

    expect(await sidecar.stop('SIGTERM')).toBe(0);
    expect(sidecar.output().match(/"msg":"stopped"/g)?.length).toBe(3);
  });
});
