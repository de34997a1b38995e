import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { epochMinute } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { EventWriter, migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { GrantRepository } from '@tollgate/core/ledger';
import { topUp } from '@tollgate/quota-sidecar';
import { startClickHouseFront, type ClickHouseFront } from '@tollgate/testkit/clickhouse-http';
import { freePort } from '@tollgate/testkit/free-port';
import { startValkey, type ValkeyServer } from '@tollgate/testkit/valkey';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * Two sync-worker processes (`sync-worker/src/main.ts`) against one Valkey and one ClickHouse
 * (a chDB front the processes share), while debits and their events keep arriving for minutes
 * the workers already settle (settle lag 0, events in past minutes): the balances end where one
 * worker would put them, grants minus the cost of every event, and no drift is written twice.
 */
const MAIN = new URL('../sync-worker/src/main.ts', import.meta.url).pathname;

interface Worker {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

const startWorker = async (valkeyUrl: string, clickhouseUrl: string): Promise<Worker> => {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      VALKEY_URL: valkeyUrl,
      CLICKHOUSE_URL: clickhouseUrl,
      PORT: String(port),
      SYNC_INTERVAL_MS: '100',
      SYNC_SETTLE_LAG_MS: '0',
      SYNC_BATCH_SIZE: '3',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/readyz`)).ok, { timeoutMs: 30_000, what: `sync worker on ${port} ready` });
  return { child, url, exited };
};

let valkey: ValkeyServer;
let front: ClickHouseFront;
let ch: ClickHouseClient;
let store: ValkeyCreditStore;
const workers: Worker[] = [];

beforeAll(async () => {
  valkey = await startValkey();
  front = await startClickHouseFront();
  ch = openClickHouse({ url: front.url });
  await migrate(ch);
  store = new ValkeyCreditStore({ url: valkey.url });
  await store.connected();
});
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  await store?.close();
  await ch?.close();
  await front?.stop();
  await valkey?.stop();
});

const scalar = async (query: string, params: Record<string, unknown> = {}) => {
  const [row] = await (await ch.query({ query, query_params: params, format: 'JSONEachRow' })).json<{ v: string | number }>();
  return Number(row?.v ?? 0);
};

describe('two sync-worker processes at once', () => {
  it('produce the balances one would: grants minus the cost of every event, with no drift written twice', async () => {
    const grants = new GrantRepository(ch);
    const subjects = Array.from({ length: 7 }, () => `tpp-${randomUUID()}`);
    for (const [i, subject] of subjects.entries()) {
      await topUp(store, grants, { subject, amount: 30 + i, reason: 'test', idempotencyKey: randomUUID() });
    }
    workers.push(await startWorker(valkey.url, front.url), await startWorker(valkey.url, front.url));

    // Debits and their events, a round per minute of the last half hour: each debit lands in
    // Valkey before its event reaches ClickHouse, so the workers settle minutes mid-flight.
    const writer = new EventWriter({ clickhouse: ch, logger: createLogger('test', 'silent'), writer: 'test' });
    const firstMinute = epochMinute(Date.now()) - 30;
    for (let round = 0; round < 8; round++) {
      const minute = firstMinute + round;
      const batch = await Promise.all(
        subjects.flatMap((subject) =>
          Array.from({ length: 4 }, async (_, i) => {
            const cost = i === 0 ? 3 : 1;
            const { allowed } = await store.debit(subject, cost, minute);
            return {
              source: 'sync-replicas-test',
              id: randomUUID(),
              type: 'api.call',
              subject,
              timeMs: minute * 60_000 + i * 1_000,
              data: '{}',
              cost: allowed ? cost : 0,
              decision: allowed ? 'debited' : 'denied',
            };
          }),
        ),
      );
      await writer.write(batch);
    }

    const expected = async () =>
      Promise.all(
        subjects.map(async (s) => {
          const granted = await scalar(`SELECT sum(amount) AS v FROM credit_grants WHERE subject = {s:String}`, { s });
          return granted - (await scalar(`SELECT sum(cost) AS v FROM events WHERE subject = {s:String}`, { s }));
        }),
      );
    const want = await expected();
    await waitFor(
      async () => JSON.stringify(await Promise.all(subjects.map((s) => store.balance(s)))) === JSON.stringify(want),
      { timeoutMs: 30_000, what: 'balances = grants - event costs' },
    );
    // And they stay there while both keep running.
    const runsBefore = await Promise.all(workers.map(async (w) => (await (await fetch(`${w.url}/metrics`)).text()).match(/tollgate_reconcile_runs_total\{kind="[a-z]+",outcome="ok"\} (\d+)/g)?.length ?? 0));
    expect(runsBefore.every((n) => n > 0)).toBe(true);
    await waitFor(async () => (await Promise.all(subjects.map((s) => store.realtimeBuckets(s)))).every((b) => b.size === 0), {
      what: 'every settled bucket dropped',
    });
    expect(await Promise.all(subjects.map((s) => store.balance(s)))).toEqual(want);

    // Every event matches its debit, so the drifts a late event caused must cancel out exactly:
    // a drift written twice (or applied by both workers) would leave a non-zero sum for good.
    // A worker writes its ledger entry just after its script changed the balance, so the last
    // entry may still be on its way: the sums are polled until they are all zero.
    const net = () =>
      Promise.all(
        subjects.map((s) =>
          scalar(
            `SELECT sum(amount) AS v FROM (SELECT any(amount) AS amount FROM ledger_adjustments WHERE subject = {s:String}
             GROUP BY change_id)`,
            { s },
          ),
        ),
      );
    await waitFor(async () => (await net()).every((n) => n === 0), { timeoutMs: 10_000, what: 'the drifts of each subject to cancel out' }).catch(
      () => undefined,
    );
    expect(await net()).toEqual(subjects.map(() => 0));
    // Both workers may write the entry of one pending change (at least once, deduplicated by
    // change id, as the ledger reads it); what must never happen is one change with two amounts.
    const conflicting = await scalar(`SELECT uniqExact(subject, change_id, amount) - uniqExact(subject, change_id) AS v FROM ledger_adjustments`);
    expect(conflicting).toBe(0);

    // SIGTERM: each stops its loop and exits cleanly.
    for (const w of workers) w.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
  });

  it('refuses to start without VALKEY_URL, naming the variable', async () => {
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, VALKEY_URL: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('VALKEY_URL is required');
  });
});
