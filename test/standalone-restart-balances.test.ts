import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFailed } from 'vitest';
import { adminCall, balanceOf, grantCredits, startStandalone, type Standalone } from '@tollgate/testkit/standalone';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * `npm start` killed with SIGKILL and started again on the same data: its memory store is empty
 * at start, and the minutes since the watermark (the default settle lag of two minutes) are
 * unsettled. A TPP that spent its credits gets not one call after the restart; a TPP that holds
 * credits gets no 429 (until its restore, the route's policy answers: 503 under `deny`).
 */
const call = async (s: Standalone, subject: string) => {
  const res = await fetch(`${s.gatewayUrl}/accounts`, { headers: { 'x-tpp-id': subject } });
  await res.arrayBuffer();
  return res.status;
};
const calls = async (s: Standalone, subject: string, n: number) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await call(s, subject));
  return out;
};

describe('npm start restarted after SIGKILL', () => {
  it('serves not one call to a TPP that spent its credits, and no 429 to one that holds credits; the ledger adds up', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-restart-'));
    let s = await startStandalone({ dataDir });
    onTestFailed(() => console.error(s.output().slice(-6_000)));
    const [spent, holding] = ['tpp-restart-spent', 'tpp-restart-holding'];
    try {
      await grantCredits(s, spent, 50);
      await grantCredits(s, holding, 4_000);
      expect(await calls(s, spent, 50)).toEqual(Array.from({ length: 50 }, () => 200));
      expect(await calls(s, spent, 3)).toEqual([429, 429, 429]);
      expect(await calls(s, holding, 3)).toEqual([200, 200, 200]);
      await s.stop('SIGKILL');

      s = await startStandalone({ dataDir, ports: s.ports, waitReady: false });
      // From the first moment the gateway answers: never a 2xx for the spent TPP, never a 429 for the other.
      await waitFor(async () => (await fetch(`${s.gatewayUrl}/healthz`).catch(() => undefined))?.ok, { timeoutMs: 60_000, intervalMs: 10, what: 'the gateway to answer' });
      const early = await Promise.all([calls(s, spent, 5), calls(s, holding, 5)]);
      expect(early[0].filter((status) => status < 300)).toEqual([]);
      expect(early[1]).not.toContain(429);
      await waitFor(async () => (await adminCall(s, `/admin/v1/subjects/${holding}/balance`)).status === 200, { timeoutMs: 60_000, what: 'the restore' });
      expect(await balanceOf(s, spent)).toBe(0);
      const servedEarly = early[1].filter((status) => status === 200).length;
      expect(await balanceOf(s, holding)).toBe(4_000 - 3 - servedEarly);
      expect(await calls(s, spent, 55)).toEqual(Array.from({ length: 55 }, () => 429));
      expect(await calls(s, holding, 5)).toEqual([200, 200, 200, 200, 200]);

      for (const subject of [spent, holding]) {
        const ledger = (await (await adminCall(s, `/admin/v1/subjects/${subject}/ledger`)).json()) as {
          totals: { difference: number };
          adjustments: { cause: string }[];
        };
        expect(ledger.totals.difference).toBe(0);
        expect(ledger.adjustments.map((a) => a.cause)).toEqual(['restore']);
      }
    } finally {
      await s.stop('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
