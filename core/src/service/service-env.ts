import { ConfigError } from '../config/env-parsers.ts';
import { ENV, type Env, type EnvDefinition, type EnvName, type EnvValue } from '../config/env.ts';

/** One variable of a service's list: the definition of ENV, with the service's own default where it has one. */
export interface EnvVar<N extends EnvName = EnvName> extends EnvDefinition<EnvValue<N>> {
  readonly name: N;
}

/**
 * The environment variables one service reads, as one list (name, default, parser, meaning).
 * The deployment manifests and the README's configuration table are checked against it.
 */
export interface ServiceEnv<K extends EnvName = EnvName> {
  /** The service, as its start line and its refusals name it. */
  readonly service: string;
  readonly vars: readonly EnvVar<K>[];
}

/** A service's list from the names it reads; `defaults` gives a variable this service's own default (PORT). */
export const serviceEnv = <const K extends EnvName>(
  service: string,
  names: readonly K[],
  defaults: { readonly [P in K]?: EnvValue<P> } = {},
): ServiceEnv<K> => {
  const seen = new Set<EnvName>();
  const vars = names.map(<N extends K>(name: N): EnvVar<N> => {
    if (seen.has(name)) throw new Error(`${service}: ${name} is listed twice`);
    seen.add(name);
    const definition = ENV[name] as EnvDefinition<EnvValue<N>>;
    const own = defaults[name] as EnvValue<N> | undefined;
    return own === undefined ? { name, ...definition } : { name, ...definition, fallback: own, shown: String(own) };
  });
  return { service, vars };
};

/** Parses a service's variables from `source`; throws one ConfigError that lists every problem. */
export const readServiceEnv = <K extends EnvName>({ vars }: ServiceEnv<K>, source: Record<string, string | undefined> = process.env): Env<K> => {
  const values: Partial<Record<EnvName, unknown>> = {};
  const problems: string[] = [];
  for (const { name, parse, fallback } of vars) {
    const raw = source[name];
    try {
      values[name] = raw === undefined || raw === '' ? fallback : parse(raw, name);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as Env<K>;
};
