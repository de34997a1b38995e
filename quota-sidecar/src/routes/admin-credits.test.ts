import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { MemoryCreditStore, type CreditStore } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { openClickHouse } from '@tollgate/core/clickhouse';
import { GrantRepository } from '@tollgate/core/ledger';
import { createSidecarApp } from '../sidecar-app.ts';
import {
  ADMIN_TOKEN,
  closeTestClickHouse,
  createTestSidecar,
  openStore,
  testConfig,
  uniqueSubject,
  type StoreKind,
  type TestSidecar,
} from '@tollgate/testkit/sidecar-fixture';

afterAll(closeTestClickHouse);

interface TopUpBody {
  subject: string;
  amount: number;
  reason: string;
  idempotencyKey: string;
  createdAt: string;
  balance: number;
}

describe.each<StoreKind>(['valkey', 'memory'])('admin top-ups with the %s store', (kind) => {
  let store: CreditStore;
  let sidecar: TestSidecar;

  beforeAll(async () => {
    store = await openStore(kind, inject('valkeyUrl'));
    sidecar = await createTestSidecar({ store });
  });
  afterAll(async () => {
    await store.close();
  });

  const ledger = async (subject: string) => {
    const res = await sidecar.admin(`/admin/v1/subjects/${subject}/ledger`);
    expect(res.status).toBe(200);
    return (await res.json()) as { subject: string; balance: number; grants: { idempotencyKey: string; amount: number }[]; adjustments: unknown[] };
  };

  it('answers 201 the first time, 200 with the same body on a replay, and 409 for the key with another body', async () => {
    const subject = uniqueSubject();
    const key = randomUUID();
    const first = await sidecar.topUp(subject, 40, key, 'welcome');
    expect(first.status).toBe(201);
    const body = (await first.json()) as TopUpBody;
    expect(body).toEqual({ subject, amount: 40, reason: 'welcome', idempotencyKey: key, createdAt: expect.any(String), balance: 40 });
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);

    const replay = await sidecar.topUp(subject, 40, key, 'welcome');
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual(body);

    for (const [amount, reason] of [[41, 'welcome'], [40, 'other reason']] as const) {
      const conflict = await sidecar.topUp(subject, amount, key, reason);
      expect(conflict.status).toBe(409);
      expect(conflict.headers.get('content-type')).toBe('application/problem+json');
      expect(await conflict.json()).toMatchObject({ code: 'CONFLICT' });
    }
    expect(await sidecar.balance(subject)).toBe(40);
  });

  it('applies 20 concurrent top-ups with one key once: one 201, nineteen 200s, one body, one ledger grant', async () => {
    const subject = uniqueSubject();
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 20 }, () => sidecar.topUp(subject, 25, key)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    const bodies = await Promise.all(responses.map((r) => r.json()));
    for (const b of bodies) expect(b).toEqual(bodies[0]);
    expect(await sidecar.balance(subject)).toBe(25);

    const { grants, balance, adjustments } = await ledger(subject);
    expect(balance).toBe(25);
    expect(grants).toEqual([{ idempotencyKey: key, amount: 25, reason: 'test', createdAt: (bodies[0] as TopUpBody).createdAt }]);
    expect(adjustments).toEqual([]);
  });

  it('keeps distinct keys distinct and lists every grant in the ledger, oldest first', async () => {
    const subject = uniqueSubject();
    expect((await sidecar.topUp(subject, 5, 'k-1')).status).toBe(201);
    expect((await sidecar.topUp(subject, 7, 'k-2')).status).toBe(201);
    expect(await sidecar.balance(subject)).toBe(12);
    expect((await ledger(subject)).grants.map((g) => [g.idempotencyKey, g.amount])).toEqual([['k-1', 5], ['k-2', 7]]);
  });

  it('finishes a top-up whose first attempt died after the durable write and before the apply, answering 201', async () => {
    const subject = uniqueSubject();
    const res = await sidecar.topUp(subject, 9, 'first');
    const { createdAt } = (await res.json()) as TopUpBody;
    // The first attempt: claimed in the store and written to ClickHouse, then gone.
    const key = 'crashed';
    const grant = (await sidecar.grants.find(subject, 'first')) ?? expect.fail('grant not durable');
    expect(await store.claimGrant(subject, key, grant.bodyHash)).toBe('new');
    await sidecar.grants.insert({ ...grant, idempotencyKey: key, createdAt });

    const retry = await sidecar.topUp(subject, 9, key);
    expect(retry.status).toBe(201);
    expect(await retry.json()).toMatchObject({ createdAt, balance: 18 });
    expect(await store.applyGrant(subject, key, grant.bodyHash, 9)).toMatchObject({ status: 'already', balance: 18 });
  });

  it('treats a replay after the store lost its state as a replay (200), restoring the grant from ClickHouse', async () => {
    const subject = uniqueSubject();
    const first = await sidecar.topUp(subject, 30, 'k');
    expect(first.status).toBe(201);

    let fresh: TestSidecar = sidecar;
    if (store instanceof ValkeyCreditStore) {
      const keys = await store.client.keys(`tg:{${subject}}:*`);
      await store.client.del(...keys);
    } else {
      fresh = await createTestSidecar({ store: new MemoryCreditStore({ restored: true }) });
    }
    expect(await fresh.balance(subject)).toBe(0);
    const replay = await fresh.topUp(subject, 30, 'k');
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ ...((await first.json()) as TopUpBody), balance: 30 });
  });

  it('answers 503 without details when ClickHouse is unreachable; a retry with the same key then applies once (201)', async () => {
    const subject = uniqueSubject();
    // A real client for a ClickHouse that is not there: nothing listens on port 9.
    const unreachable = new GrantRepository(openClickHouse({ url: 'http://127.0.0.1:9' }));
    const broken = createSidecarApp({
      store,
      grants: unreachable,
      config: testConfig(),
      adminTokens: [ADMIN_TOKEN],
      logger: createLogger('quota-sidecar', 'silent'),
    });
    const request = () => ({
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': 'k' },
      body: JSON.stringify({ amount: 12, reason: 'test' }),
    });
    const failed = await broken.request(`http://sidecar/admin/v1/subjects/${subject}/credits`, request());
    expect(failed.status).toBe(503);
    expect(failed.headers.get('content-type')).toBe('application/problem+json');
    const text = await failed.text();
    expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    expect(JSON.parse(text)).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', detail: expect.stringContaining('same Idempotency-Key') });
    expect((await broken.request(`http://sidecar/admin/v1/subjects/${subject}/ledger`, { headers: request().headers })).status).toBe(503);
    expect(await store.balance(subject)).toBe(0);

    // The failed attempt left its claim in the store; the claim never stands in for the durable write.
    const retry = await sidecar.topUp(subject, 12, 'k');
    expect(retry.status).toBe(201);
    expect(await sidecar.balance(subject)).toBe(12);
    expect((await ledger(subject)).grants).toHaveLength(1);
  });

  it('answers balance and ledger for a subject it has never seen', async () => {
    const subject = uniqueSubject();
    expect(await (await sidecar.admin(`/admin/v1/subjects/${subject}/balance`)).json()).toEqual({ subject, balance: 0 });
    expect(await ledger(subject)).toEqual({ subject, balance: 0, grants: [], adjustments: [], totals: { grants: 0, adjustments: 0, balance: 0, consumed: 0, consumedSettled: 0, consumedUnsettled: 0, difference: 0 } });
  });
});
