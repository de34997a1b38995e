import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSidecar, type SidecarProcess } from '@tollgate/testkit/sidecar-process';
import { freePort } from '@tollgate/testkit/free-port';
import { waitFor } from '@tollgate/testkit/wait-for';

const TOKEN = 'managed-restart-token';

/**
 * Meters and subjects created over the OpenMeter API live in ClickHouse, not in the process:
 * the sidecar's main.ts is stopped and started again on the same data, and answers the same.
 */
describe('quota-sidecar: managed meters and subjects across a process restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-managed-restart-'));
  const config = join(dir, 'tollgate.yaml');
  writeFileSync(config, 'meters:\n  - slug: api_calls\n    eventType: api.call\n    aggregation: COUNT\n');
  let sidecar: SidecarProcess | undefined;
  afterAll(async () => {
    await sidecar?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const port = await freePort();
    const env = { PORT: String(port), CLICKHOUSE_DATA_DIR: join(dir, 'chdb'), EVENT_LOG_DIR: join(dir, 'log'), ADMIN_TOKENS: TOKEN, TOLLGATE_CONFIG: config, LOG_LEVEL: 'warn' };
    sidecar = await spawnSidecar(env);
    const url = sidecar.url;
    return (path: string, init: RequestInit = {}) => fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
  };

  it('lists, gets and queries a created meter and a subject after SIGTERM and a new start', async () => {
    const subject = `tpp-${randomUUID()}`;
    let api = await start();
    const created = await api('/api/v1/meters', { method: 'POST', body: JSON.stringify({ slug: 'bytes', eventType: 'transfer', aggregation: 'SUM', valueProperty: '$.bytes' }) });
    expect(created.status).toBe(201);
    const meter: unknown = await created.json();
    // A meter deleted before the restart stays deleted.
    expect((await api('/api/v1/meters', { method: 'POST', body: JSON.stringify({ slug: 'gone', eventType: 'transfer', aggregation: 'COUNT' }) })).status).toBe(201);
    expect((await api('/api/v1/meters/gone', { method: 'DELETE' })).status).toBe(204);
    const upserted = await api('/api/v1/subjects', { method: 'POST', body: JSON.stringify([{ key: subject, displayName: 'Alpha', metadata: { tier: 'gold' } }]) });
    expect(upserted.status).toBe(200);
    const [stored] = (await upserted.json()) as unknown[];
    const events = [100, 23].map((bytes) => ({ specversion: '1.0', type: 'transfer', source: 'restart-test', id: randomUUID(), subject, data: { bytes } }));
    expect((await api('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(events) })).status).toBe(204);
    const total = async () => ((await (await api(`/api/v1/meters/bytes/query?subject=${subject}`)).json()) as { data: { value: number }[] }).data[0]?.value;
    await waitFor(async () => (await total()) === 123, { what: 'the events stored' });
    expect(await sidecar?.stop('SIGTERM')).toBe(0);

    api = await start();
    expect(await (await api('/api/v1/meters/bytes')).json()).toEqual(meter);
    expect(((await (await api('/api/v1/meters')).json()) as { slug: string }[]).map((m) => m.slug)).toEqual(['api_calls', 'bytes']);
    expect(await total()).toBe(123);
    expect(await (await api(`/api/v1/subjects/${subject}`)).json()).toEqual(stored);
    expect((await api('/api/v1/meters/gone')).status).toBe(404);
    expect((await api('/api/v1/meters/api_calls', { method: 'DELETE' })).status).toBe(409);
  }, 60_000);
});
