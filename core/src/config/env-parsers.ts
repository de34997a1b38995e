/**
 * How an environment variable's text becomes its value. Each kind of variable is a definition:
 * its parser (for a set, non-empty value), its value when unset, and that default as a person
 * reads it (the README's configuration table shows the same text).
 */
export interface EnvKind<T> {
  /** Parses a set, non-empty value; throws an Error whose message names the variable. */
  readonly parse: (raw: string, name: string) => T;
  /** The value when the variable is unset or empty. */
  readonly fallback: T;
  /** The default as the README's configuration table shows it. */
  readonly shown: string;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export const integer = (fallback: number, min: number, max: number): EnvKind<number> => ({
  fallback,
  shown: String(fallback),
  parse: (raw, name) => {
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return Number(raw);
  },
});

export const url = (protocols: string[], shown: string): EnvKind<string | undefined> => ({
  fallback: undefined,
  shown,
  parse: (raw, name) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`${name} must be a URL, got "${raw}"`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new Error(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
    }
    return raw;
  },
});

/** Comma-separated values, blanks dropped; unset is the empty list. */
export const list = (shown: string): EnvKind<string[]> => ({
  fallback: [],
  shown,
  parse: (raw) =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
});

/** A string, or the fallback when unset or empty; with a string fallback the value is always a string. */
export function text(fallback: string): EnvKind<string>;
export function text(fallback: undefined, shown: string): EnvKind<string | undefined>;
export function text(fallback: string | undefined, shown?: string): EnvKind<string | undefined> {
  return { fallback, shown: shown ?? `\`${fallback ?? ''}\``, parse: (raw) => raw };
}

export const oneOf = <T extends string>(values: readonly T[], fallback: T): EnvKind<T> => ({
  fallback,
  shown: `\`${fallback}\``,
  parse: (raw, name) => {
    if (!(values as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  },
});
