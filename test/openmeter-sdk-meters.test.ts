import { randomUUID } from 'node:crypto';
import type { OpenMeter } from '@openmeter/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore } from '@tollgate/core/credits';
import { closeTestClickHouse, createTestEvents, testConfig, type TestEvents } from '@tollgate/testkit/sidecar-fixture';
import { present, startSdkSidecar, type SdkSidecar } from '@tollgate/testkit/sdk-sidecar';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * Conformance, part 2: meters managed over the API with @openmeter/sdk (pinned) — created in
 * either path form, queried, refused when they clash or are invalid, deleted, kept across a
 * restart — and the subjects with usage of a meter. Answers are checked against the events sent.
 */
const NOW = Date.parse('2026-01-20T12:00:00.000Z');
const config = testConfig({ meters: [{ slug: 'api_calls', eventType: 'api.call', aggregation: 'COUNT' }] });

const A = `tpp-a-${randomUUID()}`;
const B = `tpp-b-${randomUUID()}`;
const C = `tpp-c-${randomUUID()}`;
interface Prompt {
  subject: string;
  time: string;
  model: string;
  tokens?: number | string;
}
const PROMPTS: Prompt[] = [
  { subject: A, time: '2026-01-15T10:00:00Z', model: 'gpt', tokens: 10 },
  { subject: A, time: '2026-01-15T11:00:00Z', model: 'gpt', tokens: '5' },
  { subject: A, time: '2026-01-16T09:00:00Z', model: 'claude', tokens: 7 },
  { subject: B, time: '2026-01-16T10:00:00Z', model: 'claude', tokens: 1 },
  // No tokens: not in the SUM, but B has usage of the meter's event type all the same.
  { subject: B, time: '2026-01-17T00:00:00Z', model: 'claude' },
  { subject: C, time: '2026-01-18T00:00:00Z', model: 'gpt', tokens: 2 },
];
const promptEvent = (p: Prompt) => ({ type: 'prompt', source: 'llm-proxy', id: randomUUID(), subject: p.subject, time: new Date(p.time), data: { model: p.model, tokens: p.tokens } });
const tokensOf = (p: Prompt) => (p.tokens === undefined ? 0 : Number(p.tokens));

const TOKENS = { slug: 'prompt_tokens', description: 'Tokens per model', eventType: 'prompt', aggregation: 'SUM', valueProperty: '$.data.tokens', groupBy: { model: '$.model' } } as const;

describe('OpenMeter conformance through @openmeter/sdk: managed meters', () => {
  let events: TestEvents;
  let served: SdkSidecar;
  let om: OpenMeter;
  let created: NonNullable<Awaited<ReturnType<OpenMeter['meters']['create']>>>;

  beforeAll(async () => {
    events = await createTestEvents();
    served = await startSdkSidecar({ store: new MemoryCreditStore({ restored: true }), config, emitter: events.bus, now: () => NOW });
    om = served.om;
    // Events sent before the meter exists count too: a meter reads every stored event of its type.
    await om.events.ingest(PROMPTS.map(promptEvent));
    await om.events.ingest({ type: 'api.call', source: 'open-banking-api', id: randomUUID(), subject: C, time: new Date('2026-01-15T12:00:00Z'), data: { endpoint: '/accounts', method: 'GET' } });
    await waitFor(async () => (await om.meters.query('api_calls', { subject: [C] })).data.length === 1, { what: 'the api.call event stored' });
    created = present(await om.meters.create(TOKENS), 'meter');
  });
  afterAll(async () => {
    await served.close();
    await events.close();
    await closeTestClickHouse();
  });

  it("creates a meter defined in either path form, shows it in OpenMeter's form, and lists it after the configured ones", async () => {
    expect(created).toMatchObject({ slug: 'prompt_tokens', name: 'prompt_tokens', description: 'Tokens per model', eventType: 'prompt', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } });
    // OpenMeter's ids are ULIDs; a created meter's id is never a slug.
    expect(created.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(created.updatedAt).toEqual(created.createdAt);
    expect(((await om.meters.list()) ?? []).map((m) => m.slug)).toEqual(['api_calls', 'prompt_tokens']);
    expect(await om.meters.get(created.id)).toEqual(created);
    expect(await om.meters.get('prompt_tokens')).toEqual(created);
  });

  it('queries a created meter over the events sent, before and after it was created', async () => {
    await waitFor(async () => (await om.meters.query('prompt_tokens', { subject: [A, B, C] })).data.length === 3, { what: 'the prompts stored' });
    const result = await om.meters.query(created.id, { subject: [A, B, C], groupBy: ['model'] });
    const expected = new Map<string, number>();
    for (const p of PROMPTS) if (p.tokens !== undefined) expected.set(`${p.subject} ${p.model}`, (expected.get(`${p.subject} ${p.model}`) ?? 0) + tokensOf(p));
    expect(new Map(result.data.map((r) => [`${r.subject} ${r.groupBy.model}`, r.value]))).toEqual(expected);
  });

  it('refuses a slug that is taken (configured or created) with 409, and a definition the configuration would refuse with 400 naming each problem', async () => {
    await expect(om.meters.create({ ...TOKENS, valueProperty: '$.other' })).rejects.toMatchObject({ status: 409 });
    await expect(om.meters.create({ slug: 'api_calls', eventType: 'api.call', aggregation: 'COUNT' })).rejects.toMatchObject({ status: 409 });
    const bad = await om.meters.create({ slug: 'Bad Slug', eventType: '', aggregation: 'MEDIAN' as 'SUM', valueProperty: 'tokens', groupBy: { 'bad key': '$.x' } }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400 });
    expect((bad as { getField(k: string): unknown }).getField('invalidParameters')).toEqual([
      'meter.slug must match ^[a-z0-9][a-z0-9_-]{0,62}$',
      'meter.eventType is required',
      'meter.aggregation must be one of COUNT, SUM, AVG, MIN, MAX, UNIQUE_COUNT, LATEST',
      'meter.valueProperty must be a path like $.field (into the event data, as OpenMeter) or $.data.field',
      'meter.groupBy key "bad key" must match ^[A-Za-z_][A-Za-z0-9_]{0,62}$',
    ]);
    await expect(om.meters.create({ slug: 'latency', eventType: 'api.call', aggregation: 'AVG' })).rejects.toMatchObject({ status: 400 });
    expect(((await om.meters.list()) ?? []).map((m) => m.slug)).toEqual(['api_calls', 'prompt_tokens']);
  });

  it('answers none of the new routes without the admin token, and refuses a body that is not a JSON meter', async () => {
    const routes: [string, string][] = [
      ['POST', '/api/v1/meters'],
      ['DELETE', '/api/v1/meters/prompt_tokens'],
      ['GET', '/api/v1/meters/prompt_tokens/subjects'],
      ['GET', '/api/v1/events'],
      ['GET', '/api/v1/subjects'],
      ['POST', '/api/v1/subjects'],
      ['GET', `/api/v1/subjects/${A}`],
      ['DELETE', `/api/v1/subjects/${A}`],
    ];
    for (const [method, path] of routes) {
      const res = await fetch(`${served.url}${path}`, { method, headers: { authorization: 'Bearer not-the-token', 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : null });
      expect([method, path, res.status]).toEqual([method, path, 401]);
    }
    const post = (body: string, type = 'application/json') => served.sidecar.admin('/api/v1/meters', { method: 'POST', headers: { 'content-type': type }, body });
    expect((await post('{"slug":')).status).toBe(400);
    expect((await post(JSON.stringify(TOKENS), 'text/plain')).status).toBe(415);
    expect((await post(JSON.stringify({ ...TOKENS, slug: 'big', description: 'x'.repeat(70_000) }))).status).toBe(413);
    expect(await om.meters.get('prompt_tokens')).toEqual(created);
  });

  it('lists the subjects with usage of a meter (sorted; from and to inclusive, as OpenMeter documents them)', async () => {
    const subjects = async (meter: string, query: { from?: Date; to?: Date } = {}) => {
      const res = await om.client.GET('/api/v1/meters/{meterIdOrSlug}/subjects', { params: { path: { meterIdOrSlug: meter }, query } });
      expect(res.response.status).toBe(200);
      return res.data;
    };
    const expected = (from = '', to = '9') => [...new Set(PROMPTS.filter((p) => p.time >= from && p.time <= to).map((p) => p.subject))].sort();
    expect(await subjects('prompt_tokens')).toEqual(expected());
    expect(await subjects('prompt_tokens', { from: new Date('2026-01-16T10:00:00Z'), to: new Date('2026-01-17T00:00:00Z') })).toEqual(expected('2026-01-16T10:00:00Z', '2026-01-17T00:00:00Z'));
    expect(await subjects('api_calls')).toEqual([C]);
    const unknown = await om.client.GET('/api/v1/meters/{meterIdOrSlug}/subjects', { params: { path: { meterIdOrSlug: 'nope' } } });
    expect(unknown.response.status).toBe(404);
  });

  it('keeps created meters across a restart: a new sidecar over the same ClickHouse lists and queries them', async () => {
    const restarted = await startSdkSidecar({ store: new MemoryCreditStore({ restored: true }), config, emitter: events.bus, now: () => NOW });
    try {
      expect(await restarted.om.meters.get('prompt_tokens')).toEqual(created);
      const total = await restarted.om.meters.query('prompt_tokens', { subject: [A] });
      expect(total.data.map((r) => r.value)).toEqual([PROMPTS.filter((p) => p.subject === A).reduce((n, p) => n + tokensOf(p), 0)]);
    } finally {
      await restarted.close();
    }
  });

  it('refuses to delete a configured meter (409, and why), and 404s an unknown one', async () => {
    const res = await served.sidecar.admin('/api/v1/meters/api_calls', { method: 'DELETE' });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toBe('The meter "api_calls" is defined in TOLLGATE_CONFIG and cannot be deleted over the API; remove it from the configuration instead.');
    await expect(om.meters.delete('api_calls')).rejects.toMatchObject({ status: 409 });
    await expect(om.meters.delete('no_such_meter')).rejects.toMatchObject({ status: 404 });
  });

  it('deletes a created meter (204): it leaves list, get and query, and its slug can be created again with a new id', async () => {
    const doomed = present(await om.meters.create({ slug: 'doomed', eventType: 'prompt', aggregation: 'MAX', valueProperty: '$.tokens' }), 'meter');
    expect((await om.meters.query('doomed', { subject: [A] })).data.map((r) => r.value)).toEqual([10]);
    const res = await served.sidecar.admin(`/api/v1/meters/${doomed.id}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    await expect(om.meters.get('doomed')).rejects.toMatchObject({ status: 404 });
    await expect(om.meters.query('doomed', {})).rejects.toMatchObject({ status: 404 });
    await expect(om.meters.delete('doomed')).rejects.toMatchObject({ status: 404 });
    expect(((await om.meters.list()) ?? []).map((m) => m.slug)).toEqual(['api_calls', 'prompt_tokens']);

    const again = present(await om.meters.create({ slug: 'doomed', eventType: 'prompt', aggregation: 'MIN', valueProperty: '$.tokens' }), 'meter');
    expect(again.id).not.toBe(doomed.id);
    expect((await om.meters.query('doomed', { subject: [A] })).data.map((r) => r.value)).toEqual([5]);
    await om.meters.delete('doomed');
  });
});
