import { ConfigError, loadTollgateConfig, readEnv, type Env, type TollgateConfig } from '@tollgate/core';

export const SIDECAR_ENV = ['PORT', 'VALKEY_URL', 'CLICKHOUSE_URL', 'CLICKHOUSE_DATA_DIR', 'ADMIN_TOKENS', 'TOLLGATE_CONFIG', 'LOG_LEVEL'] as const;
export type SidecarEnv = Env<(typeof SIDECAR_ENV)[number]>;

/** The sidecar's environment and TOLLGATE_CONFIG file; one ConfigError lists every problem of both. */
export const readSidecarConfig = (source: Record<string, string | undefined> = process.env): { env: SidecarEnv; config: TollgateConfig } => {
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
  if (!env || !config) throw new ConfigError(problems);
  return { env, config };
};
