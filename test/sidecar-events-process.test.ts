import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { KafkaClient } from '@tollgate/core/kafka';
import { spawnSidecar, type SidecarProcess } from '@tollgate/testkit/sidecar-process';
import { startClickHouseFront, type ClickHouseFront } from '@tollgate/testkit/clickhouse-http';
import { freePort } from '@tollgate/testkit/free-port';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { readTopic as readRecords } from '@tollgate/testkit/read-topic';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * The sidecar's main.ts as a process, on both producer paths: without KAFKA_BROKERS its events
 * (decisions and ingested ones) reach its ClickHouse through its local event log; with them, they
 * reach the Kafka topic, and SIGTERM flushes what is still lingering.
 */
const TOKEN = 'process-test-token';
const CONFIG = `
routes:
  - { method: POST, path: /payments, cost: 5 }
meters:
  - slug: api_calls
    eventType: api.call
    aggregation: COUNT
    groupBy: { subject: true, decision: $.data.decision }
  - slug: prompts
    eventType: prompt
    aggregation: COUNT
`;

type Message = { id: string; type: string; subject: string; data?: { decision?: string; cost?: number } };

describe('quota-sidecar process events', () => {
  let dir: string;
  let configFile: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-sidecar-events-'));
    configFile = join(dir, 'tollgate.yaml');
    writeFileSync(configFile, CONFIG);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (sidecar: SidecarProcess, path: string, init: RequestInit = {}) =>
    fetch(`${sidecar.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) } });
  const topUp = (sidecar: SidecarProcess, subject: string, amount: number) =>
    call(sidecar, `/admin/v1/subjects/${subject}/credits`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ amount, reason: 'test' }),
    });
  const authorize = (sidecar: SidecarProcess, subject: string) =>
    call(sidecar, '/v1/authorize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject, method: 'POST', path: '/payments' }),
    });
  const ingestPrompt = (sidecar: SidecarProcess, subject: string, id: string) =>
    call(sidecar, '/api/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', type: 'prompt', source: 'process-test', id, subject }),
    });

  it('without KAFKA_BROKERS, stores decisions and ingested events in its ClickHouse through its local event log', async () => {
    const port = await freePort();
    const sidecar = await spawnSidecar({
      PORT: String(port),
      ADMIN_TOKENS: TOKEN,
      TOLLGATE_CONFIG: configFile,
      CLICKHOUSE_DATA_DIR: join(dir, 'chdb'),
      LOG_LEVEL: 'info',
    });
    try {
      expect(sidecar.output()).toContain('"events":"event-log"');
      const subject = `tpp-${randomUUID()}`;
      expect((await topUp(sidecar, subject, 7)).status).toBe(201);
      expect((await authorize(sidecar, subject)).status).toBe(200);
      expect((await authorize(sidecar, subject)).status).toBe(429);
      expect((await ingestPrompt(sidecar, subject, randomUUID())).status).toBe(204);

      const rows = async (meter: string, groupBy = '') => {
        const res = await call(sidecar, `/api/v1/meters/${meter}/query?subject=${subject}${groupBy}`);
        return ((await res.json()) as { data: { value: number; groupBy: Record<string, string> }[] }).data;
      };
      const decisions = async () => JSON.stringify((await rows('api_calls', '&groupBy=decision')).map((r) => [r.groupBy.decision, r.value]));
      await waitFor(async () => (await decisions()) === '[["debited",1],["denied",1]]', { what: 'both decisions in the meter' });
      await waitFor(async () => (await rows('prompts'))[0]?.value === 1, { what: 'the ingested event in the meter' });
    } finally {
      expect(await sidecar.stop('SIGTERM')).toBe(0);
    }
  });

  describe('with KAFKA_BROKERS', () => {
    let broker: KafkaBroker;
    beforeAll(async () => {
      broker = await startKafka();
    }, 120_000);
    afterAll(() => broker?.close());

    /** Every message on `topic` from the start, until `done` says it has enough. */
    const readTopic = async (topic: string, done: (messages: Message[]) => boolean): Promise<Message[]> => {
      const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'sidecar-events-reader' });
      const parse = (records: { value: Buffer | null }[]) => records.map((r) => JSON.parse(String(r.value)) as Message);
      try {
        return parse(await readRecords(kafka, topic, (records) => done(parse(records)), 30_000));
      } finally {
        await kafka.close();
      }
    };

    it('creates the topic, sends decisions and ingested events to it, and flushes lingering events on SIGTERM', async () => {
      const topic = `sidecar-${randomUUID()}`;
      const port = await freePort();
      const sidecar = await spawnSidecar({
        PORT: String(port),
        ADMIN_TOKENS: TOKEN,
        TOLLGATE_CONFIG: configFile,
        CLICKHOUSE_DATA_DIR: join(dir, 'chdb-kafka'),
        KAFKA_BROKERS: broker.brokers,
        KAFKA_TOPIC: topic,
        KAFKA_TOPIC_PARTITIONS: '2',
        // Long enough that only the flush at shutdown can send the batch before the test reads.
        KAFKA_LINGER_MS: '10000',
        SPOOL_DIR: join(dir, 'spool'),
        LOG_LEVEL: 'info',
      });
      const subject = `tpp-${randomUUID()}`;
      const promptId = randomUUID();
      try {
        expect(sidecar.output()).toContain(`"events":"kafka:${topic}"`);
        expect((await topUp(sidecar, subject, 5)).status).toBe(201);
        expect((await authorize(sidecar, subject)).status).toBe(200);
        expect((await authorize(sidecar, subject)).status).toBe(429);
        expect((await ingestPrompt(sidecar, subject, promptId)).status).toBe(204);
      } finally {
        expect(await sidecar.stop('SIGTERM')).toBe(0);
      }

      const messages = await readTopic(topic, (m) => m.length >= 3);
      expect(messages.map((m) => [m.type, m.subject, m.data?.decision ?? null, m.data?.cost ?? null])).toEqual([
        ['api.call', subject, 'debited', 5],
        ['api.call', subject, 'denied', 0],
        ['prompt', subject, null, null],
      ]);
      expect(messages[2]?.id).toBe(promptId);
    });

    describe('with SIDECAR_WORKERS=2', () => {
      const topic = `sidecar-workers-${randomUUID()}`;
      let clickhouse: ClickHouseFront;
      let sidecar: SidecarProcess;
      beforeAll(async () => {
        clickhouse = await startClickHouseFront();
        sidecar = await spawnSidecar({
          PORT: String(await freePort()),
          SIDECAR_WORKERS: '2',
          ADMIN_TOKENS: TOKEN,
          TOLLGATE_CONFIG: configFile,
          VALKEY_URL: inject('valkeyUrl'),
          CLICKHOUSE_URL: clickhouse.url,
          KAFKA_BROKERS: broker.brokers,
          KAFKA_TOPIC: topic,
          SPOOL_DIR: join(dir, 'spool-workers'),
          LOG_LEVEL: 'info',
        });
        const listening = (worker: number) => new RegExp(`"msg":"listening".*"worker":${worker}`).test(sidecar.output());
        await waitFor(() => listening(0) && listening(1), { what: 'both workers to listen', timeoutMs: 60_000 });
      }, 120_000);
      afterAll(async () => {
        if (sidecar) expect(await sidecar.stop('SIGTERM')).toBe(0);
        await clickhouse?.stop();
      });

      it('serves a replay through every worker: the primary holds its progress', async () => {
        onTestFailed(() => console.error(`sidecar output:\n${sidecar.output().slice(-6000)}`));
        // Each request on a connection of its own, so that node:cluster hands them to either worker.
        const fresh = (path: string, init: RequestInit = {}) =>
          call(sidecar, path, { ...init, headers: { connection: 'close', 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
        const subject = `tpp-${randomUUID()}`;
        // POST /payments costs 5.
        expect((await topUp(sidecar, subject, 15)).status).toBe(201);
        for (let i = 0; i < 3; i++) expect((await authorize(sidecar, subject)).status).toBe(200);
        await readTopic(topic, (m) => m.length >= 3);

        // No meter-sink consumes this topic, so the replay waits for it: it is still running below.
        const from = new Date(Date.now() - 3_600_000).toISOString();
        const started = await fresh('/admin/v1/replay', { method: 'POST', body: JSON.stringify({ from }) });
        expect(started.status).toBe(202);
        const { id } = (await started.json()) as { id: string };
        expect(started.headers.get('location')).toBe(`/admin/v1/replay/${id}`);

        const progress = await Promise.all(Array.from({ length: 10 }, () => fresh(`/admin/v1/replay/${id}`)));
        expect(progress.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
        for (const r of progress) expect(await r.json()).toMatchObject({ id, state: 'running', from });

        const second = await fresh('/admin/v1/replay', { method: 'POST', body: JSON.stringify({ from }) });
        expect(second.status).toBe(409);
        expect(second.headers.get('content-type')).toContain('application/problem+json');
        expect(await second.json()).toMatchObject({ status: 409, code: 'CONFLICT', running: id });
        expect((await fresh(`/admin/v1/replay/${randomUUID()}`)).status).toBe(404);
      }, 120_000);
    });
  });
});
