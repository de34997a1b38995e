import { ConfigError } from '../config/env-parsers.ts';
import type { Env, EnvName } from '../config/env.ts';
import { loadTollgateConfig, type TollgateConfig } from '../config/tollgate-config.ts';
import { readServiceEnv, type ServiceEnv } from './service-env.ts';

/**
 * Collects the problems of several readers, so that a service reports every one of them at
 * once: `collect` returns undefined for a reader that threw a ConfigError.
 */
export const problemCollector = () => {
  const problems: string[] = [];
  return {
    problems,
    collect: <T>(read: () => T): T | undefined => {
      try {
        return read();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.push(...err.problems);
        return undefined;
      }
    },
  };
};

/**
 * TOLLGATE_CONFIG, for a service that prices calls or answers meter queries: without the file
 * it would run with no routes and no meters (every call at the default cost, no refund rule, no
 * meter to query), so a missing variable is refused rather than read as "nothing configured".
 */
export const requireTollgateConfig = (path: string | undefined, service: string): TollgateConfig => {
  if (!path) {
    throw new ConfigError([
      `TOLLGATE_CONFIG is required: the ${service} prices calls and answers meters from that YAML file (routes, costs, meters; see deploy/config/tollgate.yaml)`,
    ]);
  }
  return loadTollgateConfig(path);
};

/** A service's environment and TOLLGATE_CONFIG file, with every problem of both (and of `check`) in one ConfigError. */
export const readServiceConfiguration = <K extends EnvName>(
  spec: ServiceEnv<K | 'TOLLGATE_CONFIG'>,
  check: (env: Env<K | 'TOLLGATE_CONFIG'> | undefined, config: TollgateConfig | undefined) => string[] = () => [],
  source: Record<string, string | undefined> = process.env,
): { env: Env<K | 'TOLLGATE_CONFIG'>; config: TollgateConfig } => {
  const { problems, collect } = problemCollector();
  const env = collect(() => readServiceEnv(spec, source));
  const config = collect(() => requireTollgateConfig(source.TOLLGATE_CONFIG, spec.service));
  problems.push(...check(env, config));
  if (!env || !config || problems.length > 0) throw new ConfigError(problems);
  return { env, config };
};

/** Which configuration a service runs with, for its start line: the file, and what it sets. */
export const configurationSummary = (path: string, config: TollgateConfig): string =>
  `${path} (${config.routes.length} routes, ${config.meters.length} meters, subject ${config.subject.jwt ? 'from a bearer JWT' : `header ${config.subject.header}`})`;

/**
 * Reads a service's configuration; on a problem, prints one line naming every problem and ends
 * the process with exit code 1 (a refusal, not a stack trace).
 */
export const configurationOrExit = <T>(service: string, read: () => T): T => {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${service}: invalid configuration: ${err.problems.join('; ')}\n`);
    return process.exit(1);
  }
};

/**
 * `npm start -w <workspace>` runs a service in its workspace's folder, while the paths a person
 * gives it (TOLLGATE_CONFIG, the data and spool directories) mean the folder the command was
 * typed in (npm's INIT_CWD): the service works from there, as `node <workspace>/src/main.ts` would.
 */
export const workFromInvocationDirectory = (): void => {
  const dir = process.env.INIT_CWD;
  if (dir && dir !== process.cwd()) process.chdir(dir);
};
