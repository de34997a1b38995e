import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tollgate/core';
import { metrics } from '@tollgate/core/metrics';
import { epochMinute, MemoryCreditStore } from '@tollgate/core/credits';
import { EventWriter, migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { GrantRepository, reconcileSubjects } from '@tollgate/core/ledger';
import { topUp } from '@tollgate/quota-sidecar';

const ch = openClickHouse({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-reconcile-bounds-')) });
beforeAll(() => migrate(ch));
afterAll(() => ch.close());

const HOUR_AGO = Date.now() - 3_600_000;
const apiCall = (subject: string, cost: number) => ({
  source: 'test',
  id: randomUUID(),
  type: 'api.call',
  subject,
  timeMs: HOUR_AGO,
  data: JSON.stringify({ cost }),
  cost,
  decision: 'debited',
});

const outOfRange = async () => (await metrics.reconcileSubjects.get()).values.find((v) => v.labels.result === 'out_of_range')?.value ?? 0;

describe('reconciliation bounds', () => {
  it('refuses a target outside the safe integers: the balance stays, the other subjects of the batch are reconciled', async () => {
    const store = new MemoryCreditStore({ restored: true });
    const grants = new GrantRepository(ch);
    const [flooded, plain] = [`tpp-${randomUUID()}`, `tpp-${randomUUID()}`];
    for (const subject of [flooded, plain]) await topUp(store, grants, { subject, amount: 10, reason: '', idempotencyKey: 'k' });
    // Events that bypassed the per-call cost bound (stored before it existed).
    await new EventWriter({ clickhouse: ch, logger: createLogger('test', 'silent'), writer: 'test' }).write([...Array.from({ length: 5 }, () => apiCall(flooded, Number.MAX_SAFE_INTEGER)), apiCall(plain, 3)]);
    const before = await outOfRange();

    const summary = await reconcileSubjects({ clickhouse: ch, store, subjects: [flooded, plain], watermarkMinute: epochMinute(Date.now()) });

    expect(await store.balance(flooded)).toBe(10);
    expect(await store.balance(plain)).toBe(7);
    expect(summary.outOfRange).toEqual([flooded]);
    expect(summary.applied).toBe(1);
    expect(await outOfRange()).toBe(before + 1);
  });
});
