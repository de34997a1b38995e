import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { parseTollgateConfig } from '@tollgate/core/config';
import type { RunningServer } from '@tollgate/core/service';
import { metrics } from '@tollgate/core/metrics';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { DiskSpool, KafkaEmitter, type SpoolFullPolicy } from '@tollgate/core/event-path';
import { KafkaClient } from '@tollgate/core/kafka';
import { createGatewayApp } from '@tollgate/gateway-plugin';
import { startSampleUpstream } from '@tollgate/sample-upstream';
import { freePort } from '@tollgate/testkit/free-port';
import { waitFor } from '@tollgate/testkit/wait-for';

let upstream: RunningServer;
beforeAll(async () => {
  upstream = await startSampleUpstream();
});
afterAll(() => upstream?.close());

/** A gateway whose Kafka is unreachable (nothing listens on its port) and whose spool holds ~2 KB. */
const gatewayWithFullingSpool = async (policy: SpoolFullPolicy) => {
  const kafka = new KafkaClient({ brokers: [`127.0.0.1:${await freePort()}`], clientId: 'spool-full-test' });
  const spool = new DiskSpool({ dir: mkdtempSync(join(tmpdir(), 'tollgate-full-')), maxBytes: 2_048 });
  const emitter = new KafkaEmitter({ kafka, topic: 'api-calls', spool, logger: createLogger('t', 'silent'), lingerMs: 1, spoolFullPolicy: policy });
  await emitter.start();
  const store = new MemoryCreditStore({ restored: true });
  await store.applyGrant('tpp-1', 'k', 'h', 1_000);
  const app = createGatewayApp({ store, emitter, config: parseTollgateConfig({}), upstreamUrl: upstream.url });
  const call = async () => (await app.request('http://gateway/accounts', { headers: { 'x-tpp-id': 'tpp-1' } })).status;
  return { app, emitter, call };
};

describe('gateway when the event spool is full', () => {
  it('deny: refuses new requests with 503 once events can no longer be recorded', async () => {
    const { app, emitter, call } = await gatewayWithFullingSpool('deny');
    const statuses: number[] = [];
    await waitFor(
      async () => {
        statuses.push(await call());
        await emitter.flush();
        return !emitter.accepting;
      },
      { timeoutMs: 30_000, intervalMs: 1, what: 'the spool to fill' },
    );
    const after = await app.request('http://gateway/accounts', { headers: { 'x-tpp-id': 'tpp-1' } });
    expect(after.status).toBe(503);
    expect(after.headers.get('content-type')).toBe('application/problem+json');
    expect(statuses.every((s) => s === 200)).toBe(true);
    await app.close();
  }, 60_000);

  it('serve: keeps serving and counts every event it could not record', async () => {
    const { app, emitter, call } = await gatewayWithFullingSpool('serve');
    const before = (await metrics.eventsUnrecorded.get()).values[0]?.value ?? 0;
    for (let i = 0; i < 40; i++) {
      expect(await call()).toBe(200);
      await emitter.flush();
    }
    expect(emitter.accepting).toBe(true);
    const lost = ((await metrics.eventsUnrecorded.get()).values[0]?.value ?? 0) - before;
    expect(lost).toBeGreaterThan(0);
    expect(lost + emitter.spooled).toBe(40); // each event is either spooled or counted as lost
    await app.close();
  }, 60_000);
});
