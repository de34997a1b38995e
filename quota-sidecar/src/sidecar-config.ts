import { ConfigError, EVENT_PATH_ENV, EVENT_TIME_ENV, loadTollgateConfig, parseMeters, readEnv, type Env, type Meter, type TollgateConfig } from '@tollgate/core';

/** Whether only this host can reach an address: 127.0.0.0/8, ::1 and localhost. */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

export const SIDECAR_ENV = [
  'PORT',
  'SIDECAR_WORKERS',
  'VALKEY_URL',
  ...EVENT_PATH_ENV,
  'CLICKHOUSE_URL',
  'CLICKHOUSE_DATA_DIR',
  'LISTEN_HOST',
  'ADMIN_TOKENS',
  'AUTHORIZE_TOKENS',
  'JWT_SECRET',
  'SYNC_SETTLE_LAG_MS',
  'INGEST_MAX_BODY_BYTES',
  ...EVENT_TIME_ENV,
  'TOLLGATE_CONFIG',
  'LOG_LEVEL',
] as const;
export type SidecarEnv = Env<(typeof SIDECAR_ENV)[number]>;

export interface SidecarSettings {
  env: SidecarEnv;
  config: TollgateConfig;
  meters: Meter[];
}

/** The sidecar's environment and TOLLGATE_CONFIG file (meters included); one ConfigError lists every problem of both. */
export const readSidecarConfig = (source: Record<string, string | undefined> = process.env): SidecarSettings => {
  const problems: string[] = [];
  const collect = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const env = collect(() => readEnv(SIDECAR_ENV, source));
  const config = collect(() => loadTollgateConfig(source.TOLLGATE_CONFIG));
  const meters = config && collect(() => parseMeters(config.meters, `${source.TOLLGATE_CONFIG ?? 'config'}: meters`));
  if (env && env.AUTHORIZE_TOKENS.length === 0 && !isLoopback(env.LISTEN_HOST)) {
    problems.push(
      `AUTHORIZE_TOKENS is required when LISTEN_HOST (${env.LISTEN_HOST}) is not a loopback address: without it, anyone who reaches the port could debit any subject and read its balance`,
    );
  }
  if (config?.subject.jwt && !config.subject.jwt.jwksUrl && !env?.JWT_SECRET) {
    problems.push('subject.jwt needs subject.jwt.jwksUrl in TOLLGATE_CONFIG or JWT_SECRET in the environment');
  }
  if (env && env.SIDECAR_WORKERS > 1) {
    // Each worker is its own process: the state it shares must live outside it.
    if (!env.VALKEY_URL) problems.push(`SIDECAR_WORKERS=${env.SIDECAR_WORKERS} needs VALKEY_URL: the in-memory credit store belongs to one process, so workers would each hold their own balances`);
    if (!env.CLICKHOUSE_URL) problems.push(`SIDECAR_WORKERS=${env.SIDECAR_WORKERS} needs CLICKHOUSE_URL: the embedded ClickHouse data directory can be opened by one process only`);
  }
  if (!env || !config || !meters || problems.length > 0) throw new ConfigError(problems);
  return { env, config, meters };
};
