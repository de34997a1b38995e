import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { createRequire } from 'node:module';

export interface ClickHouseOptions {
  /** A ClickHouse server's HTTP endpoint; without it, the embedded engine in `dataDir`. */
  url?: string | undefined;
  dataDir?: string | undefined;
}

// The embedded engine allows one data directory per process: share one client per directory.
const embedded = new Map<string, ClickHouseClient>();

// Loaded on first use: the engine is ~150 MB of native code that a service talking to a
// ClickHouse server (or not at all) must not carry.
const loadChdb = () => createRequire(import.meta.url)('chdb/connection') as typeof import('chdb/connection');

/** One `@clickhouse/client` everywhere: against a server with a URL, against embedded chDB otherwise. */
export const openClickHouse = ({ url, dataDir = '.data/chdb' }: ClickHouseOptions): ClickHouseClient => {
  if (url) {
    const parsed = new URL(url);
    return createClient({
      url: `${parsed.protocol}//${parsed.host}`,
      username: decodeURIComponent(parsed.username) || 'default',
      password: decodeURIComponent(parsed.password),
      database: parsed.pathname.replace(/^\//, '') || 'default',
      clickhouse_settings: { date_time_input_format: 'best_effort' },
      // Failures surface as rejected promises that the callers log with context.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }
  const path = resolve(dataDir);
  let client = embedded.get(path);
  if (!client) {
    mkdirSync(path, { recursive: true });
    client = createClient({ connection: loadChdb().createChdbConnection({ path }) } as Parameters<typeof createClient>[0]);
    embedded.set(path, client);
  }
  return client;
};
