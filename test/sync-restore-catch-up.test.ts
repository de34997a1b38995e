import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { epochMinute } from '@tollgate/core/credits';
import type { LedgerTotals } from '@tollgate/core/ledger';
import { SyncWorker } from '@tollgate/sync-worker';
import { waitFor } from '@tollgate/testkit/wait-for';
import { testClickHouse, uniqueSubject } from '@tollgate/testkit/sidecar-fixture';
import {
  store,
  sidecar,
  clock,
  now,
  authorize,
  stored,
  worker,
  topUp,
  statuses,
  writeEvents,
  SETTLE_LAG_MS,
  useRestoreHarness,
} from '@tollgate/testkit/restore-harness';

/** The restore and the metering path: events that reach ClickHouse after it, and a restore that waits for the path to catch up (testkit/src/restore-harness.ts). */
useRestoreHarness();

describe('events that reach ClickHouse after the restore', () => {
  it('are charged when they arrive, as events_after_restore, and the ledger still adds up', async () => {
    const s = uniqueSubject();
    await topUp(s, 10);
    // Three calls debited by a gateway; the event of the third is still in the gateway's
    // linger window (or spool) when Valkey loses its data, and arrives after the restore.
    const answeredAt = now();
    const minute = epochMinute(answeredAt);
    const event = (i: number) => ({
      source: 'late-gateway',
      id: randomUUID(),
      type: 'api.call',
      subject: s,
      timeMs: answeredAt + i,
      data: '{}',
      cost: 1,
      decision: 'debited',
    });
    for (let i = 0; i < 3; i++) expect(await store.debit(s, 1, minute)).toMatchObject({ allowed: true });
    await writeEvents(await testClickHouse(), [event(0), event(1)]);
    await store.client.flushall();
    const w = await worker();
    expect(await w.runOnce()).toMatchObject({ kind: 'restore' });
    // The restore charged what was stored: 8 left, one call more than the truth allows.
    expect(await store.balance(s)).toBe(8);

    clock.t += 60_000;
    await writeEvents(await testClickHouse(), [event(2)]);
    await w.runOnce();
    expect(await store.balance(s)).toBe(7);
    const ledger = (await (await sidecar.admin(`/admin/v1/subjects/${s}/ledger`)).json()) as {
      adjustments: { amount: number; cause: string }[];
      totals: LedgerTotals;
    };
    expect(ledger.adjustments.map((a) => [a.cause, a.amount])).toEqual([
      ['restore', -2],
      ['events_after_restore', -1],
    ]);
    expect(ledger.totals.difference).toBe(0);
  });
});

describe('the sync worker notices a lost store', () => {
  it('restores between runs within its poll, only once the metering path has caught up', async () => {
    const s = uniqueSubject();
    await topUp(s, 9);
    expect(await statuses(s, 4)).toEqual([200, 200, 200, 200]);
    await stored();
    const waits: number[] = [];
    let release = () => {};
    const caughtUp = new Promise<void>((resolve) => (release = resolve));
    const w = new SyncWorker({
      clickhouse: await testClickHouse(),
      store,
      settleLagMs: SETTLE_LAG_MS,
      // Only the poll can start the restore: the next run is an hour away.
      intervalMs: 3_600_000,
      restorePollMs: 20,
      awaitMeteringCaughtUp: async (asOfMs) => {
        waits.push(asOfMs);
        await caughtUp;
      },
      now,
    });
    w.start();
    try {
      await waitFor(() => w.completedRuns === 1, { what: 'the first run' });
      await store.client.flushall();
      await waitFor(() => waits.length === 1, { what: 'the restore to wait for the metering path' });
      expect(waits[0]).toBe(now());
      // While it waits, the store decides nothing for the subject.
      expect((await authorize(s)).status).toBe(503);
      expect(await store.restoreStatus()).toMatchObject({ restored: false, restoring: expect.any(String) });
      release();
      await waitFor(async () => (await store.restoreStatus()).restored, { what: 'the store to be restored' });
      expect(w.lastRun).toMatchObject({ kind: 'restore', caughtUp: true });
      expect(await store.balance(s)).toBe(5);
    } finally {
      await w.stop();
    }
  });

  it('restores from what is stored when the metering path does not catch up in time, and says so in the ledger', async () => {
    const s = uniqueSubject();
    await topUp(s, 3);
    await store.client.flushall();
    const w = new SyncWorker({
      clickhouse: await testClickHouse(),
      store,
      settleLagMs: SETTLE_LAG_MS,
      restoreCatchUpTimeoutMs: 100,
      awaitMeteringCaughtUp: (_asOf, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve())),
      now,
    });
    expect(await w.runOnce()).toMatchObject({ kind: 'restore', caughtUp: false });
    expect(await store.balance(s)).toBe(3);
    const ledger = (await (await sidecar.admin(`/admin/v1/subjects/${s}/ledger`)).json()) as { adjustments: { cause: string; details: Record<string, unknown> }[] };
    expect(ledger.adjustments).toEqual([expect.objectContaining({ cause: 'restore', details: expect.objectContaining({ caughtUp: false }) })]);
  });
});
