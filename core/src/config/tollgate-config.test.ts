import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from './env.ts';
import { DEFAULT_CONFIG, parseTollgateConfig } from './tollgate-config.ts';

const problemsOf = (doc: unknown): string[] => {
  try {
    parseTollgateConfig(doc, 'tollgate.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('parseTollgateConfig', () => {
  it('gives the defaults for an empty document', () => {
    expect(parseTollgateConfig(null)).toEqual(DEFAULT_CONFIG);
  });

  it('reads routes, inheriting the credit defaults', () => {
    const config = parseTollgateConfig(
      parse(`
credits: { defaultCost: 2, chargeOn: success, onStoreError: allow, storeTimeoutMs: 30 }
subject: { header: X-Client }
routes:
  - { method: post, path: /payments, cost: 10, onStoreError: deny }
  - { path: /health, cost: 0 }
`),
    );
    expect(config.subject.header).toBe('x-client');
    expect(config.credits).toMatchObject({ defaultCost: 2, chargeOn: 'success', onStoreError: 'allow', storeTimeoutMs: 30 });
    expect(config.routes).toEqual([
      { method: 'POST', path: '/payments', cost: 10, chargeOn: 'success', onStoreError: 'deny' },
      { method: '*', path: '/health', cost: 0, chargeOn: 'success', onStoreError: 'allow' },
    ]);
  });

  it('reports every problem at once', () => {
    expect(
      problemsOf({
        credits: { defaultCost: 1.5, chargeOn: 'always' },
        routes: [{ path: 'payments', cost: -1 }, { cost: 1 }],
        subject: { jwt: { claims: [] } },
      }),
    ).toEqual([
      'tollgate.yaml: credits.defaultCost must be an integer from 0 to 1000000 (credits.maxCost), got 1.5',
      'tollgate.yaml: credits.chargeOn must be one of request, success, got "always"',
      'tollgate.yaml: subject.jwt.claims must be a non-empty list of claim names',
      'tollgate.yaml: routes[0].path must start with /',
      'tollgate.yaml: routes[0].cost must be an integer from 0 to 1000000 (credits.maxCost), got -1',
      'tollgate.yaml: routes[1].path is required',
    ]);
  });

  it('bounds the cost of one call: maxCost defaults to 1,000,000, and no rule or default may cost more', () => {
    expect(parseTollgateConfig(null).credits.maxCost).toBe(1_000_000);
    expect(parseTollgateConfig({ credits: { maxCost: 50 }, routes: [{ path: '/a', cost: 50 }] }).credits.maxCost).toBe(50);
    expect(problemsOf({ routes: [{ path: '/a', cost: 1_000_001 }] })).toEqual([
      'tollgate.yaml: routes[0].cost must be an integer from 0 to 1000000 (credits.maxCost), got 1000001',
    ]);
    expect(
      problemsOf({ credits: { maxCost: 10, defaultCost: 11 }, routes: [{ path: '/a', cost: 9007199254740991 }, { path: '/b' }] }),
    ).toEqual([
      'tollgate.yaml: credits.defaultCost must be an integer from 0 to 10 (credits.maxCost), got 11',
      'tollgate.yaml: routes[0].cost must be an integer from 0 to 10 (credits.maxCost), got 9007199254740991',
    ]);
    expect(problemsOf({ credits: { maxCost: 0 } })).toEqual(['tollgate.yaml: credits.maxCost must be an integer from 1 to 1000000000, got 0']);
  });
});
