import type { ChargeOn, RouteRule, StoreErrorPolicy, TollgateConfig } from './tollgate-config.ts';

export interface RoutePricing {
  cost: number;
  chargeOn: ChargeOn;
  onStoreError: StoreErrorPolicy;
}

const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/**
 * Compiles a path pattern: `:name` matches one segment, a trailing `*` matches the rest.
 * Letters match either case: some upstreams route paths without regard to case, and a call
 * must not pay less for spelling its route in capitals.
 */
export const compilePathPattern = (pattern: string): RegExp => {
  const source = pattern
    .split('/')
    .map((segment, i, all) => {
      if (segment === '*' && i === all.length - 1) return '.*';
      if (segment.startsWith(':')) return '[^/]+';
      return escape(segment);
    })
    .join('/');
  return new RegExp(`^${source}/?$`, 'i');
};

/** Prices a request: the first route rule that matches method and path, else the defaults. */
export const createPricer = (config: TollgateConfig) => {
  const rules = config.routes.map((rule: RouteRule) => ({ rule, pattern: compilePathPattern(rule.path) }));
  const fallback: RoutePricing = {
    cost: config.credits.defaultCost,
    chargeOn: config.credits.chargeOn,
    onStoreError: config.credits.onStoreError,
  };
  return function price(method: string, path: string): RoutePricing {
    const m = method.toUpperCase();
    for (const { rule, pattern } of rules) {
      if ((rule.method === '*' || rule.method === m) && pattern.test(path)) {
        return { cost: rule.cost, chargeOn: rule.chargeOn, onStoreError: rule.onStoreError };
      }
    }
    return fallback;
  };
};
