import { describe, expect, it } from 'vitest';
import { uniqueSubject } from '@tollgate/testkit/sidecar-fixture';
import {
  events,
  sidecar,
  ingest,
  usage,
  countOf,
  deliveredAfter,
  storedIds,
  ingested,
  stored,
  apiCall,
  newId,
  MAX_BODY,
  type Row,
  useIngestSidecar,
} from '@tollgate/testkit/ingest-sidecar';
import { waitFor } from '@tollgate/testkit/wait-for';

/** OpenMeter's ingest through the sidecar app: what it takes, how it counts, stores and prices it (testkit/src/ingest-sidecar.ts). */
useIngestSidecar();

describe('POST /api/v1/events', () => {
  it('takes one event as application/cloudevents+json, 204, and it is counted by the meter', async () => {
    const subject = uniqueSubject();
    const before = await ingested();
    const res = await ingest(apiCall(subject), 'application/cloudevents+json');
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(await ingested()).toBe(before + 1);
    await waitFor(async () => (await countOf(subject)) === 1, { what: 'the event in the meter' });
  });

  it('takes a batch as application/cloudevents-batch+json, a charset parameter included', async () => {
    const subject = uniqueSubject();
    const batch = [apiCall(subject), apiCall(subject, { data: { ...apiCall(subject).data, endpoint: '/payments', method: 'POST' } }), apiCall(subject)];
    expect((await ingest(batch, 'application/cloudevents-batch+json; charset=utf-8')).status).toBe(204);
    await waitFor(async () => (await countOf(subject)) === 3, { what: 'three events in the meter' });
    expect(await usage(subject)).toEqual([
      { value: 2, windowStart: '2026-01-15T10:00:00Z', windowEnd: '2026-01-15T12:00:00Z', subject, groupBy: { endpoint: '/accounts' } },
      { value: 1, windowStart: '2026-01-15T10:00:00Z', windowEnd: '2026-01-15T12:00:00Z', subject, groupBy: { endpoint: '/payments' } },
    ]);
  });

  it('takes application/json as one event or as an array', async () => {
    const subject = uniqueSubject();
    expect((await ingest(apiCall(subject), 'application/json')).status).toBe(204);
    expect((await ingest([apiCall(subject), apiCall(subject)], 'application/json')).status).toBe(204);
    await waitFor(async () => (await countOf(subject)) === 3, { what: 'three events in the meter' });
  });

  it('passes each event on as sent, and stamps a missing or null time with the arrival time', async () => {
    const subject = uniqueSubject();
    const sent = apiCall(subject, { time: undefined, datacontenttype: 'application/json', traceparent: '00-abc-def-01' });
    const nullTime = apiCall(subject, { time: null });
    expect((await ingest([sent, nullTime])).status).toBe(204);
    const ids = new Set([sent.id, nullTime.id]);
    await waitFor(() => events.delivered.filter((e) => ids.has(e.id)).length === 2, { what: 'both events on the bus' });
    const [first, second] = events.delivered.filter((e) => ids.has(e.id));
    expect(first).toEqual({ ...JSON.parse(JSON.stringify(sent)), time: '2026-01-15T12:00:00.000Z' });
    expect(second).toMatchObject({ id: nullTime.id, time: '2026-01-15T12:00:00.000Z' });
    const window = `/api/v1/meters/api_calls/query?subject=${subject}&from=2026-01-15T12:00:00Z&to=2026-01-15T12:00:01Z`;
    await waitFor(async () => ((await (await sidecar.admin(window)).json()) as { data: Row[] }).data[0]?.value === 2, {
      what: 'both events at the arrival time',
    });
  });

  it('counts a batch ingested twice once: (source, id) identifies an event', async () => {
    const subject = uniqueSubject();
    const batch = Array.from({ length: 5 }, () => apiCall(subject));
    expect((await ingest(batch)).status).toBe(204);
    await waitFor(async () => (await countOf(subject)) === 5, { what: 'the first delivery in the meter' });

    expect((await ingest(batch)).status).toBe(204);
    const marker = apiCall(subject, { data: { ...apiCall(subject).data, endpoint: '/marker' } });
    expect((await ingest([marker])).status).toBe(204);
    await waitFor(async () => (await usage(subject)).some((r) => r.groupBy.endpoint === '/marker'), { what: 'the marker in the meter' });

    // The second copy did reach the sink, which stored nothing new.
    expect(await deliveredAfter(marker.id, new Set(batch.map((e) => e.id)))).toHaveLength(10);
    expect(await usage(subject)).toEqual([
      expect.objectContaining({ value: 5, groupBy: { endpoint: '/accounts' } }),
      expect.objectContaining({ value: 1, groupBy: { endpoint: '/marker' } }),
    ]);
    expect((await storedIds(batch.map((e) => e.id))).sort()).toEqual(batch.map((e) => e.id).sort());
  });

  it('takes events of any type, not only api.call', async () => {
    const other = { specversion: '1.0', type: 'prompt', source: 'llm', id: newId(), subject: uniqueSubject(), data: { tokens: 12 } };
    expect((await ingest(other, 'application/cloudevents+json')).status).toBe(204);
    await waitFor(async () => (await storedIds([other.id])).length === 1, { what: 'the prompt event stored' });
  });

  it('answers an empty batch 204 and emits nothing', async () => {
    // What earlier tests emitted may still be on its way to the recording subscriber (it runs after the sink's write).
    await events.bus.flush();
    const before = events.delivered.length;
    expect((await ingest([])).status).toBe(204);
    await events.bus.flush();
    expect(events.delivered.length).toBe(before);
  });

  it('takes a batch of 1,000 events (about 270 KB) far above the admin API limit: the ingest limit is its own', async () => {
    const subject = uniqueSubject();
    const batch = Array.from({ length: 1_000 }, () => apiCall(subject));
    expect(JSON.stringify(batch).length).toBeGreaterThan(30 * MAX_BODY);
    expect((await ingest(batch)).status).toBe(204);
    await waitFor(async () => (await countOf(subject)) === 1_000, { what: '1,000 events in the meter' });
    // The admin API keeps limits.maxBodyBytes.
    const admin = await sidecar.admin(`/admin/v1/subjects/${subject}/credits`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': newId() },
      body: JSON.stringify({ amount: 1, reason: 'x'.repeat(MAX_BODY) }),
    });
    expect(admin.status).toBe(413);
  });

  it('prices an api.call in the source format by the route rules (the default when none matches) and records it as metered', async () => {
    const subject = uniqueSubject();
    const source = (endpoint: string, method: string) => ({
      specversion: '1.0',
      type: 'api.call',
      source: 'open-banking-api',
      id: newId(),
      time: '2026-01-15T11:00:00.000Z',
      subject,
      data: { endpoint, method, status_code: 200, response_time_ms: 45 },
    });
    const sent = [
      source('/accounts/acc-1/transactions', 'GET'),
      source('/payments', 'post'),
      source('/accounts', 'GET'),
      // Normalised as the gateway prices it: the duplicate slash and the dot segment resolve to /payments.
      source('//payments/./', 'POST'),
    ];
    const before = await ingested();
    expect((await ingest(sent)).status).toBe(204);
    expect(await ingested()).toBe(before + 4);
    await waitFor(async () => (await storedIds(sent.map((e) => e.id))).length === 4, { what: 'the four events stored' });
    expect(await Promise.all(sent.map(async (e) => (await stored(e.id))[0]))).toEqual([
      { cost: 3, decision: 'metered', data: { ...sent[0]?.data, cost: 3, decision: 'metered' } },
      { cost: 10, decision: 'metered', data: { ...sent[1]?.data, cost: 10, decision: 'metered' } },
      { cost: 2, decision: 'metered', data: { ...sent[2]?.data, cost: 2, decision: 'metered' } },
      { cost: 10, decision: 'metered', data: { ...sent[3]?.data, cost: 10, decision: 'metered' } },
    ]);
  });

  it('counts the authorize decisions of the sidecar as ingested, origin quota-sidecar', async () => {
    const subject = uniqueSubject();
    const before = await ingested('quota-sidecar');
    const res = await sidecar.app.request('http://sidecar/v1/authorize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject, method: 'GET', path: '/accounts' }),
    });
    expect(res.status).toBe(429);
    expect(await ingested('quota-sidecar')).toBe(before + 1);
  });

});
