import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answered2xx, startCallLoad, type CallLoad } from '@tollgate/testkit/call-load';
import { adminCall, balanceOf, completedSyncRuns, eventLogBacklog, grantCredits, startStandalone, type Standalone } from '@tollgate/testkit/standalone';
import { waitFor } from '@tollgate/testkit/wait-for';

const SUBJECTS = ['tpp-kill-a', 'tpp-kill-b', 'tpp-kill-c'];
const GRANT = 1_000_000;
const ROUNDS = 3;

/**
 * Credits metered per subject, from the OpenMeter API (it reads the stored events): `debited` for
 * debited calls (each a 2xx of cost 1 on /accounts), `cost` for every decision (what a balance owes).
 */
const meteredCredits = async (s: Standalone): Promise<Map<string, { debited: number; cost: number }>> => {
  const res = await adminCall(s, '/api/v1/meters/api_credits/query?groupBy=subject&groupBy=decision');
  expect(res.status).toBe(200);
  const { data } = (await res.json()) as { data: { value: number; subject?: string; groupBy: Record<string, string | null> }[] };
  const out = new Map(SUBJECTS.map((s) => [s, { debited: 0, cost: 0 }]));
  for (const row of data) {
    const m = out.get(row.subject ?? row.groupBy.subject ?? '');
    if (!m) continue;
    m.cost += row.value;
    if (row.groupBy.decision === 'debited') m.debited += row.value;
  }
  return out;
};

/** Per subject: calls started before the process was seen dead, less those settled before the kill. */
const uncertainAtKill = async (load: CallLoad, s: Standalone): Promise<Map<string, number>> => {
  const settledBeforeKill = new Map(SUBJECTS.map((subject) => [subject, load.counts.get(subject)?.settled ?? 0]));
  await s.stop('SIGKILL');
  return new Map(SUBJECTS.map((subject) => [subject, (load.counts.get(subject)?.started ?? 0) - (settledBeforeKill.get(subject) ?? 0)]));
};

describe('npm start killed with SIGKILL under gateway load, restarted on the same data directory', () => {
  it('meters every call answered 2xx exactly once, and every balance is its grant less its metered cost', async () => {
    const deadline = Date.now() + 150_000;
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-kill-'));
    // Sync often, so that balances come back soon after each restart and calls are served again.
    const env = { SYNC_INTERVAL_MS: '500' };
    let s = await startStandalone({ dataDir, env });
    const load = startCallLoad({ url: `${s.gatewayUrl}/accounts`, subjects: SUBJECTS, concurrency: 16 });
    const inFlight = new Map(SUBJECTS.map((subject) => [subject, 0]));
    try {
      for (const subject of SUBJECTS) await grantCredits(s, subject, GRANT);
      for (let round = 0; round < ROUNDS; round++) {
        // A random moment: after 300 to 3,000 more calls were answered.
        const target = load.answered2xx() + 300 + Math.floor(Math.random() * 2_700);
        await waitFor(() => load.answered2xx() >= target || Date.now() > deadline, { timeoutMs: 60_000, intervalMs: 5, what: `${target} calls answered` });
        for (const [subject, n] of await uncertainAtKill(load, s)) inFlight.set(subject, (inFlight.get(subject) ?? 0) + n);
        s = await startStandalone({ dataDir, env, ports: s.ports });
      }
      // Served again after the last restart, then the load stops.
      const after = load.answered2xx() + 500;
      await waitFor(() => load.answered2xx() >= after, { timeoutMs: 60_000, what: 'calls answered after the last restart' });
      await load.stop();
      await waitFor(async () => (await eventLogBacklog(s)) === 0, { timeoutMs: 30_000, what: 'the event log stored' });

      const metered = await meteredCredits(s);
      for (const subject of SUBJECTS) {
        const answered = answered2xx(load.counts.get(subject));
        const m = metered.get(subject)?.debited ?? 0;
        // Every answered call is metered; at most the calls in flight at the kills besides (never one twice).
        expect({ subject, answeredAtMost: m >= answered, notBeyondInFlight: m <= answered + (inFlight.get(subject) ?? 0) }).toEqual({
          subject,
          answeredAtMost: true,
          notBeyondInFlight: true,
        });
        expect(answered).toBeGreaterThan(0);
      }
      // Reconciliation reads the per-minute usage, not the events: a kill in the middle of an insert
      // must leave both with the same calls. Of two more sync runs, the second started after everything was stored.
      const runs = await completedSyncRuns(s);
      await waitFor(async () => (await completedSyncRuns(s)) >= runs + 2, { timeoutMs: 30_000, what: 'two sync runs' });
      const balances = await Promise.all(SUBJECTS.map(async (subject) => ({ subject, balance: await balanceOf(s, subject) })));
      expect(balances).toEqual(SUBJECTS.map((subject) => ({ subject, balance: GRANT - (metered.get(subject)?.cost ?? 0) })));
    } finally {
      await load.stop();
      await s.stop('SIGKILL');
    }
  }, 240_000);
});
