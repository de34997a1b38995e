import { ConfigError, type TollgateConfig } from '@tollgate/core/config';
import { problemCollector, readServiceEnv, requireTollgateConfig } from '@tollgate/core/service';
import { parseMeters, type Meter } from '@tollgate/core/meters';
import { SIDECAR_ENV, type SidecarEnv } from './sidecar-env.ts';

export { SIDECAR_ENV, type SidecarEnv } from './sidecar-env.ts';

/** Whether only this host can reach an address: 127.0.0.0/8, ::1 and localhost. */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

export interface SidecarSettings {
  env: SidecarEnv;
  config: TollgateConfig;
  meters: Meter[];
}

/** The sidecar's environment and TOLLGATE_CONFIG file (meters included); one ConfigError lists every problem of both. */
export const readSidecarConfig = (source: Record<string, string | undefined> = process.env): SidecarSettings => {
  const { problems, collect } = problemCollector();
  const env = collect(() => readServiceEnv(SIDECAR_ENV, source));
  const config = collect(() => requireTollgateConfig(source.TOLLGATE_CONFIG, SIDECAR_ENV.service));
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
