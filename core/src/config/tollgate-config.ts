import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from './env.ts';

export type ChargeOn = 'request' | 'success';
export type StoreErrorPolicy = 'allow' | 'deny';

export interface RouteRule {
  /** Upper-case method, or '*' for any. */
  method: string;
  /** Path pattern: literal segments, `:name` for one segment, a trailing `*` for the rest. */
  path: string;
  cost: number;
  chargeOn: ChargeOn;
  onStoreError: StoreErrorPolicy;
}

export interface JwtSubjectConfig {
  claims: string[];
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export interface TollgateConfig {
  subject: { header: string; jwt?: JwtSubjectConfig };
  credits: {
    defaultCost: number;
    chargeOn: ChargeOn;
    onStoreError: StoreErrorPolicy;
    storeTimeoutMs: number;
    maxTopUp: number;
    /**
     * The most one call may cost: every route rule and the default are at most this, and the
     * ingest edge and the sink refuse an api.call event whose cost is above it. It keeps every
     * sum of costs far inside the exact range of a double (core/src/credits/safe-credits.ts).
     */
    maxCost: number;
  };
  routes: RouteRule[];
  limits: { maxBodyBytes: number };
  /** Raw meter definitions; validated by the meter module. */
  meters: unknown[];
}

/** The default of `credits.maxCost`: the most one call may cost. */
export const DEFAULT_MAX_COST = 1_000_000;
/**
 * The largest `credits.maxCost` accepted. At this cost a subject would need 9.2 billion calls in
 * one minute to wrap the Int64 per-minute sum of usage_1m, and 9 million calls in all to pass
 * 2^53 (which reconciliation then refuses).
 */
export const MAX_COST_LIMIT = 1_000_000_000;

export const DEFAULT_CONFIG: TollgateConfig = {
  subject: { header: 'x-tpp-id' },
  credits: { defaultCost: 1, chargeOn: 'request', onStoreError: 'deny', storeTimeoutMs: 50, maxTopUp: 1_000_000_000, maxCost: DEFAULT_MAX_COST },
  routes: [],
  limits: { maxBodyBytes: 64 * 1024 },
  meters: [],
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a parsed YAML document against the configuration schema, collecting every problem. */
export const parseTollgateConfig = (doc: unknown, where = 'config'): TollgateConfig => {
  const problems: string[] = [];
  const root: Obj = doc === null || doc === undefined ? {} : isObj(doc) ? doc : (problems.push(`${where}: must be a mapping`), {});

  const int = (v: unknown, path: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER, bound = ''): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${where}: ${path} must be an integer from ${min} to ${max}${bound}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v;
  };
  const choice = <T extends string>(v: unknown, path: string, values: readonly T[], fallback: T): T => {
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      problems.push(`${where}: ${path} must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v as T;
  };
  const str = (v: unknown, path: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') {
      problems.push(`${where}: ${path} must be a non-empty string`);
      return undefined;
    }
    return v;
  };
  const section = (key: string): Obj => {
    const v = root[key];
    if (v === undefined) return {};
    if (!isObj(v)) {
      problems.push(`${where}: ${key} must be a mapping`);
      return {};
    }
    return v;
  };

  const d = DEFAULT_CONFIG;
  const c = section('credits');
  const maxCost = int(c.maxCost, 'credits.maxCost', d.credits.maxCost, 1, MAX_COST_LIMIT);
  const cost = (v: unknown, path: string, fallback: number) => int(v, path, fallback, 0, maxCost, ' (credits.maxCost)');
  const credits = {
    defaultCost: cost(c.defaultCost, 'credits.defaultCost', Math.min(d.credits.defaultCost, maxCost)),
    chargeOn: choice(c.chargeOn, 'credits.chargeOn', ['request', 'success'] as const, d.credits.chargeOn),
    onStoreError: choice(c.onStoreError, 'credits.onStoreError', ['allow', 'deny'] as const, d.credits.onStoreError),
    storeTimeoutMs: int(c.storeTimeoutMs, 'credits.storeTimeoutMs', d.credits.storeTimeoutMs, 1, 60_000),
    maxTopUp: int(c.maxTopUp, 'credits.maxTopUp', d.credits.maxTopUp, 1),
    maxCost,
  };

  const s = section('subject');
  const subject: TollgateConfig['subject'] = { header: (str(s.header, 'subject.header') ?? d.subject.header).toLowerCase() };
  if (s.jwt !== undefined) {
    if (!isObj(s.jwt)) problems.push(`${where}: subject.jwt must be a mapping`);
    else {
      const claims = s.jwt.claims ?? ['client_id', 'azp'];
      if (!Array.isArray(claims) || claims.length === 0 || !claims.every((x) => typeof x === 'string')) {
        problems.push(`${where}: subject.jwt.claims must be a non-empty list of claim names`);
      }
      const jwksUrl = str(s.jwt.jwksUrl, 'subject.jwt.jwksUrl');
      if (jwksUrl !== undefined && !URL.canParse(jwksUrl)) problems.push(`${where}: subject.jwt.jwksUrl must be a URL`);
      subject.jwt = {
        claims: Array.isArray(claims) ? claims.map(String) : ['client_id', 'azp'],
        ...(jwksUrl ? { jwksUrl } : {}),
        ...(s.jwt.issuer !== undefined ? { issuer: str(s.jwt.issuer, 'subject.jwt.issuer') } : {}),
        ...(s.jwt.audience !== undefined ? { audience: str(s.jwt.audience, 'subject.jwt.audience') } : {}),
      };
    }
  }

  const routes: RouteRule[] = [];
  const rawRoutes = root.routes ?? [];
  if (!Array.isArray(rawRoutes)) problems.push(`${where}: routes must be a list`);
  else
    rawRoutes.forEach((r: unknown, i) => {
      const at = `routes[${i}]`;
      if (!isObj(r)) return void problems.push(`${where}: ${at} must be a mapping`);
      const path = str(r.path, `${at}.path`);
      if (path === undefined) problems.push(`${where}: ${at}.path is required`);
      else if (!path.startsWith('/')) problems.push(`${where}: ${at}.path must start with /`);
      const method = (str(r.method, `${at}.method`) ?? '*').toUpperCase();
      routes.push({
        method,
        path: path ?? '/',
        cost: cost(r.cost, `${at}.cost`, credits.defaultCost),
        chargeOn: choice(r.chargeOn, `${at}.chargeOn`, ['request', 'success'] as const, credits.chargeOn),
        onStoreError: choice(r.onStoreError, `${at}.onStoreError`, ['allow', 'deny'] as const, credits.onStoreError),
      });
    });

  const l = section('limits');
  const limits = { maxBodyBytes: int(l.maxBodyBytes, 'limits.maxBodyBytes', d.limits.maxBodyBytes, 1, 100 * 1024 * 1024) };

  const meters = root.meters ?? [];
  if (!Array.isArray(meters)) problems.push(`${where}: meters must be a list`);

  if (problems.length > 0) throw new ConfigError(problems);
  return { subject, credits, routes, limits, meters: Array.isArray(meters) ? meters : [] };
};

/** Reads TOLLGATE_CONFIG's file, or the defaults when no path is given. */
export const loadTollgateConfig = (path: string | undefined): TollgateConfig => {
  if (!path) return DEFAULT_CONFIG;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`TOLLGATE_CONFIG: cannot read ${path}: ${(err as Error).message}`]);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError([`TOLLGATE_CONFIG: ${path} is not valid YAML: ${(err as Error).message}`]);
  }
  return parseTollgateConfig(doc, path);
};
