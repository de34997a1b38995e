import { randomUUID } from 'node:crypto';
import type { OpenMeter } from '@openmeter/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { closeTestClickHouse, testConfig } from '@tollgate/testkit/sidecar-fixture';
import { present, startSdkSidecar, type SdkSidecar } from '@tollgate/testkit/sdk-sidecar';

/**
 * Conformance, part 3: subjects (a TPP's display name and metadata) through @openmeter/sdk
 * (pinned): upsert with OpenMeter's partial-update rule, list, get by key or id, delete, and
 * kept in ClickHouse across a restart.
 */
const config = testConfig();
// This file's ClickHouse holds only these subjects, so lists are compared whole.
const ALPHA = `tpp-alpha-${randomUUID()}`;
const BETA = `tpp-beta-${randomUUID()}`;
const [FIRST, SECOND] = [ALPHA, BETA].sort();

type Subject = NonNullable<Awaited<ReturnType<OpenMeter['subjects']['get']>>>;
const shape = (s: Subject) => ({ key: s.key, displayName: s.displayName, metadata: s.metadata });

describe('OpenMeter conformance through @openmeter/sdk: subjects', () => {
  let served: SdkSidecar;
  let om: OpenMeter;
  beforeAll(async () => {
    served = await startSdkSidecar({ store: new MemoryCreditStore({ restored: true }), config });
    om = served.om;
  });
  afterAll(async () => {
    await served.close();
    await closeTestClickHouse();
  });

  it('upserts several subjects at once and answers them as stored', async () => {
    const before = Date.now();
    const answer = present(await om.subjects.upsert([
      { key: ALPHA, displayName: 'Alpha Payments Ltd', metadata: { fcaNumber: '123456', contacts: [{ role: 'billing', email: 'b@alpha.example' }] } },
      { key: BETA },
    ]), 'subjects');
    expect(answer.map(shape)).toEqual([
      { key: ALPHA, displayName: 'Alpha Payments Ltd', metadata: { fcaNumber: '123456', contacts: [{ role: 'billing', email: 'b@alpha.example' }] } },
      { key: BETA, displayName: null, metadata: null },
    ]);
    for (const s of answer) {
      expect(s.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(s.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(s.updatedAt).toEqual(s.createdAt);
    }
    expect(present(await om.subjects.list(), 'subjects').map(shape)).toEqual([FIRST, SECOND].map((k) => answer.map(shape).find((s) => s.key === k)));
  });

  it("updates only the fields sent (OpenMeter's partial upsert); null clears a field", async () => {
    const created = present(await om.subjects.get(ALPHA), 'subject');
    const [renamed] = present(await om.subjects.upsert({ key: ALPHA, displayName: 'Alpha Payments' }), 'subjects');
    expect(shape(present(renamed, 'subject'))).toEqual({ key: ALPHA, displayName: 'Alpha Payments', metadata: created.metadata });
    expect(renamed?.id).toBe(created.id);
    expect(renamed?.createdAt).toEqual(created.createdAt);
    expect(renamed?.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
    const [cleared] = present(await om.subjects.upsert({ key: ALPHA, metadata: null }), 'subjects');
    expect(shape(present(cleared, 'subject'))).toEqual({ key: ALPHA, displayName: 'Alpha Payments', metadata: null });
    // The same key twice in one request: the later entry wins, field by field.
    const [both] = present(
      await om.subjects.upsert([
        { key: ALPHA, displayName: 'first', metadata: { tier: 'gold' } },
        { key: ALPHA, displayName: 'second' },
      ]),
      'subjects',
    );
    expect(shape(present(both, 'subject'))).toEqual({ key: ALPHA, displayName: 'second', metadata: { tier: 'gold' } });
  });

  it('gets a subject by key or by id, and 404s an unknown one', async () => {
    const byKey = present(await om.subjects.get(ALPHA), 'subject');
    expect(await om.subjects.get(byKey.id)).toEqual(byKey);
    expect(shape(byKey)).toEqual({ key: ALPHA, displayName: 'second', metadata: { tier: 'gold' } });
    await expect(om.subjects.get('tpp-unknown')).rejects.toMatchObject({ status: 404 });
  });

  it('refuses an invalid request whole with 400 naming each problem, and stores none of it', async () => {
    const res = await served.sidecar.admin('/api/v1/subjects', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { key: 'tpp-ok-but-refused-with-the-rest', displayName: 'fine' },
        { key: 'not a subject', metadata: [1, 2] },
        { key: BETA, displayName: 42, stripeCustomerId: 'cus_1' },
      ]),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { invalidParameters: string[] }).invalidParameters).toEqual([
      '[1].key must be 1–128 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-".',
      '[1].metadata must be a JSON object or null.',
      '[2].displayName must be a string of at most 256 characters, or null.',
      '[2].stripeCustomerId is not supported (OpenMeter deprecated it); keep it in metadata.',
    ]);
    await expect(om.subjects.upsert({ key: BETA })).resolves.toHaveLength(1);
    expect(present(await om.subjects.list(), 'subjects').map((s) => s.key)).toEqual([FIRST, SECOND]);
    await expect(served.sidecar.admin('/api/v1/subjects', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"key":"x"}' })).resolves.toMatchObject({ status: 400 });
  });

  it('keeps subjects across a restart: a new sidecar over the same ClickHouse answers the same', async () => {
    const restarted = await startSdkSidecar({ store: new MemoryCreditStore({ restored: true }), config });
    try {
      expect(await restarted.om.subjects.list()).toEqual(await om.subjects.list());
    } finally {
      await restarted.close();
    }
  });

  it('deletes a subject (204): it leaves get and list, and a new upsert starts it afresh', async () => {
    const old = present(await om.subjects.get(ALPHA), 'subject');
    const res = await served.sidecar.admin(`/api/v1/subjects/${old.id}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    await expect(om.subjects.get(ALPHA)).rejects.toMatchObject({ status: 404 });
    await expect(om.subjects.delete(ALPHA)).rejects.toMatchObject({ status: 404 });
    expect(present(await om.subjects.list(), 'subjects').map((s) => s.key)).toEqual([BETA]);
    // Nothing from before the deletion comes back.
    const [fresh] = present(await om.subjects.upsert({ key: ALPHA, displayName: 'Alpha again' }), 'subjects');
    expect(shape(present(fresh, 'subject'))).toEqual({ key: ALPHA, displayName: 'Alpha again', metadata: null });
    expect(fresh?.createdAt.getTime()).toBeGreaterThan(old.updatedAt.getTime());
  });
});
