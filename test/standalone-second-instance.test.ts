import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, type Standalone } from '@tollgate/testkit/standalone';

/** A second `npm start` on the data of a running one is refused in one line, before it touches anything. */
describe('a second npm start on the same data', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-second-'));
  let first: Standalone;
  beforeAll(async () => {
    first = await startStandalone({ dataDir });
  }, 90_000);
  afterAll(async () => {
    await first?.stop();
  });

  const refused = async (env: Record<string, string>) => {
    const second = await startStandalone({ dataDir, env, waitReady: false });
    const code = await second.exited;
    return { code, lines: second.output().trim().split('\n') };
  };

  it('on the same data directories: exits 1 naming the process, the directory and the variables to change', async () => {
    const { code, lines } = await refused({});
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`pid ${first.child.pid}`);
    expect(lines[0]).toContain(join(dataDir, 'chdb'));
    expect(lines[0]).toMatch(/CLICKHOUSE_DATA_DIR/);
    expect(lines[0]).toMatch(/EVENT_LOG_DIR/);
  });

  it('with its own ClickHouse directory but the same event log: exits 1 naming the event log', async () => {
    const { code, lines } = await refused({ CLICKHOUSE_DATA_DIR: join(dataDir, 'other-chdb') });
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`pid ${first.child.pid}`);
    expect(lines[0]).toContain(`event log in ${join(dataDir, 'event-log', 'tollgate')}`);
    expect(lines[0]).toMatch(/EVENT_LOG_DIR/);
  });

  it('the first one goes on serving', async () => {
    expect((await fetch(`${first.gatewayUrl}/readyz`)).status).toBe(200);
  });
});
