import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answered2xx, startCallLoad } from '@tollgate/testkit/call-load';
import { adminCall, eventLogBacklog, grantCredits, startStandalone } from '@tollgate/testkit/standalone';
import { waitFor } from '@tollgate/testkit/wait-for';

const SUBJECT = 'tpp-shutdown';
const CALLS = 5_000;

/** Calls metered for the subject (events stored), from the OpenMeter API of a running npm start. */
const metered = async (s: Awaited<ReturnType<typeof startStandalone>>) => {
  const res = await adminCall(s, `/api/v1/meters/api_calls/query?subject=${SUBJECT}`);
  const body = (await res.json()) as { data: { value: number }[] };
  return body.data.reduce((n, r) => n + r.value, 0);
};

describe('npm start stopped with SIGTERM while thousands of events wait in the event log', () => {
  it('stores every one of them before it exits, at full batch rate', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-shutdown-'));
    // The sink waits for a batch of a million or a minute: every event of the run is still queued at the stop.
    const env = { SINK_BATCH_SIZE: '1000000', SINK_BATCH_WAIT_MS: '60000' };
    const first = await startStandalone({ dataDir, env: { ...env, LOG_LEVEL: 'info' } });
    try {
      await grantCredits(first, SUBJECT, 1_000_000);
      const load = startCallLoad({ url: `${first.gatewayUrl}/accounts`, subjects: [SUBJECT], concurrency: 32 });
      await waitFor(() => load.answered2xx() >= CALLS, { timeoutMs: 120_000, intervalMs: 50, what: `${CALLS} calls answered` });
      await load.stop();
      const answered = answered2xx(load.counts.get(SUBJECT));
      expect(load.counts.get(SUBJECT)?.failed).toBe(0);
      expect(await eventLogBacklog(first)).toBe(answered);

      const stopped = performance.now();
      expect(await first.stop('SIGTERM')).toBe(0);
      const stopMs = performance.now() - stopped;
      // At full batch rate: the whole queue in one insert (the old path wrote one small insert per tick).
      const line = first.output().split('\n').find((l) => l.includes('event log stored at the stop'));
      expect(line, first.output()).toBeDefined();
      const drained = JSON.parse(line ?? '{}') as { events: number; batches: number; ms: number };
      expect({ events: drained.events, batches: drained.batches }).toEqual({ events: answered, batches: 1 });
      expect(first.output()).not.toMatch(/events stay in the event log/);
      // The old path took 13.8 s for 1,501 queued events; a loose bound, so that a loaded machine does not fail it (the figure is in loadtest/).
      expect(stopMs).toBeLessThan(15_000);

      const second = await startStandalone({ dataDir, env });
      try {
        expect(await eventLogBacklog(second)).toBe(0);
        expect(await metered(second)).toBe(answered);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop('SIGKILL');
    }
  }, 180_000);
});
