import { describe, expect, it } from 'vitest';
import { compilePathPattern, createPricer } from './cost-rules.ts';
import { parseTollgateConfig } from './tollgate-config.ts';

describe('compilePathPattern', () => {
  it.each([
    ['/accounts', '/accounts', true],
    ['/accounts', '/accounts/', true],
    ['/accounts', '/accounts/1', false],
    ['/accounts/:id/balances', '/accounts/acc-1/balances', true],
    ['/accounts/:id/balances', '/accounts//balances', false],
    ['/accounts/*', '/accounts/1/transactions', true],
    ['/a.b', '/axb', false],
    // Without regard to case: a case-insensitive upstream serves /PAYMENTS as /payments, so it costs as much.
    ['/payments', '/PAYMENTS', true],
    ['/accounts/:id/transactions', '/Accounts/1/TRANSACTIONS', true],
  ])('%s against %s → %s', (pattern, path, expected) => {
    expect(compilePathPattern(pattern).test(path)).toBe(expected);
  });
});

describe('createPricer', () => {
  const price = createPricer(
    parseTollgateConfig({
      credits: { defaultCost: 1 },
      routes: [
        { method: 'POST', path: '/payments', cost: 10, chargeOn: 'success' },
        { path: '/accounts/:id/transactions', cost: 3, onStoreError: 'allow' },
        { path: '/health', cost: 0 },
      ],
    }),
  );

  it('takes the first matching rule', () => {
    expect(price('post', '/payments')).toEqual({ cost: 10, chargeOn: 'success', onStoreError: 'deny' });
    expect(price('GET', '/accounts/9/transactions')).toEqual({ cost: 3, chargeOn: 'request', onStoreError: 'allow' });
    expect(price('GET', '/health').cost).toBe(0);
  });

  it('falls back to the default cost', () => {
    expect(price('GET', '/payments')).toEqual({ cost: 1, chargeOn: 'request', onStoreError: 'deny' });
  });
});
