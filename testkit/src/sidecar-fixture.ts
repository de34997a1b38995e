import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { CloudEventV1 } from 'cloudevents';
import { createLogger } from '@tollgate/core';
import { DEFAULT_CONFIG, type TollgateConfig } from '@tollgate/core/config';
import { MemoryCreditStore, type CreditStore } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { InProcessBus, type EventEmitter } from '@tollgate/core/events';
import { attachBusSink } from '@tollgate/core/event-path';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { GrantRepository } from '@tollgate/core/ledger';
import { createSidecarApp, type SidecarOptions } from '@tollgate/quota-sidecar';

/** Test support for the sidecar: a real store, the file's own embedded ClickHouse, and request helpers. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export type StoreKind = 'valkey' | 'memory';

let clickhouse: { client: ClickHouseClient; dir: string } | undefined;

/** The embedded engine takes one data directory per process, so a test file shares one, migrated once. */
export const testClickHouse = async (): Promise<ClickHouseClient> => {
  if (!clickhouse) {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-sidecar-ch-'));
    clickhouse = { client: openClickHouse({ dataDir: dir }), dir };
    await migrate(clickhouse.client);
  }
  return clickhouse.client;
};

export const closeTestClickHouse = async (): Promise<void> => {
  if (!clickhouse) return;
  await clickhouse.client.close();
  rmSync(clickhouse.dir, { recursive: true, force: true });
  clickhouse = undefined;
};

export const openStore = async (kind: StoreKind, valkeyUrl: string): Promise<CreditStore> => {
  if (kind === 'memory') return new MemoryCreditStore({ restored: true });
  const store = new ValkeyCreditStore({ url: valkeyUrl });
  await store.connected();
  return store;
};

export const uniqueSubject = (prefix = 'tpp') => `${prefix}-${randomUUID()}`;

export const testConfig = (overrides: Partial<TollgateConfig> = {}): TollgateConfig => ({ ...DEFAULT_CONFIG, ...overrides });

/** The single-process producer path: an in-process bus whose sink stores in the file's ClickHouse, and a record of what it carried. */
export interface TestEvents {
  bus: InProcessBus;
  /** Every event the bus delivered, in order. */
  delivered: CloudEventV1<unknown>[];
  close(): Promise<void>;
}

export const createTestEvents = async (): Promise<TestEvents> => {
  const bus = new InProcessBus({ retryMs: 50 });
  const detachSink = attachBusSink(bus, await testClickHouse(), createLogger('bus-sink', 'silent'));
  const delivered: CloudEventV1<unknown>[] = [];
  const detachRecord = bus.subscribe((events) => void delivered.push(...events));
  return {
    bus,
    delivered,
    close: async () => {
      await bus.close();
      detachSink();
      detachRecord();
    },
  };
};

export interface TestSidecar {
  app: ReturnType<typeof createSidecarApp>;
  grants: GrantRepository;
  /** A request with the test token (admin and OpenMeter API). */
  admin(path: string, init?: RequestInit): Promise<Response>;
  /** POST a top-up through the admin API. */
  topUp(subject: string, amount: number, key?: string, reason?: string): Promise<Response>;
  balance(subject: string): Promise<number>;
}

export interface TestSidecarOptions {
  store: CreditStore;
  config?: TollgateConfig;
  /** The producer path; without it, decisions are not metered and ingest is not served. */
  emitter?: EventEmitter;
  now?: () => number;
  /** The ingest API's body limit and acceptance window. */
  ingestLimits?: SidecarOptions['ingestLimits'];
}

export const createTestSidecar = async ({ store, config = testConfig(), emitter, now, ingestLimits }: TestSidecarOptions): Promise<TestSidecar> => {
  const clickhouse = await testClickHouse();
  const grants = new GrantRepository(clickhouse);
  const app = createSidecarApp({
    store,
    grants,
    config,
    adminTokens: [ADMIN_TOKEN],
    emitter,
    clickhouse,
    now,
    ingestLimits,
    logger: createLogger('quota-sidecar', 'silent'),
  });
  const admin = async (path: string, init: RequestInit = {}) =>
    app.request(`http://sidecar${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers as Record<string, string>) } });
  const topUp = async (subject: string, amount: number, key: string = randomUUID(), reason = 'test') =>
    admin(`/admin/v1/subjects/${subject}/credits`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ amount, reason }),
    });
  const balance = async (subject: string) => {
    const res = await admin(`/admin/v1/subjects/${subject}/balance`);
    if (res.status !== 200) throw new Error(`balance answered ${res.status}`);
    return ((await res.json()) as { balance: number }).balance;
  };
  return { app, grants, admin, topUp, balance };
};
