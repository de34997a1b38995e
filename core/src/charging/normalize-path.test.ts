import { describe, expect, it } from 'vitest';
import { normalizePath, pricedMethod } from './normalize-path.ts';

describe('normalizePath', () => {
  it.each([
    ['/accounts', '/accounts'],
    ['/accounts/', '/accounts/'],
    ['/accounts?limit=5', '/accounts'],
    ['/accounts#frag', '/accounts'],
    ['/%70ayments', '/payments'],
    ['/%7Eme', '/~me'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['//payments//1', '/payments/1'],
    ['//accounts/1/transactions', '/accounts/1/transactions'],
    ['/accounts/../payments', '/payments'],
    ['/accounts/%2e%2e/payments', '/payments'],
    ['/accounts/%2E./payments', '/payments'],
    ['/./payments/.', '/payments/'],
    ['/../../payments', '/payments'],
    ['/a/..', '/'],
    ['/a.b/..c/.d', '/a.b/..c/.d'],
    ['/', '/'],
    ['', '/'],
  ])('%j → %j', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });

  it.each([
    ['an encoded slash', '/accounts%2F1/transactions'],
    ['a lower-case encoded slash', '/a%2fb'],
    ['an encoded backslash', '/a%5cb'],
    ['a backslash', '/accounts\\1'],
    ['an encoded NUL', '/payments%00.json'],
    ['an encoded line feed', '/a%0Ab'],
    ['an encoded DEL', '/a%7f'],
    ['a path parameter', '/payments;jsessionid=1'],
  ])('refuses %s with 400', (_name, input) => {
    expect(() => normalizePath(input)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', status: 400 }));
  });

  it('keeps a path that needs nothing as the same string', () => {
    const path = '/open-banking/v3.1/aisp/accounts/22289/transactions';
    expect(normalizePath(path)).toBe(path);
  });
});

describe('pricedMethod', () => {
  it('prices HEAD as GET and every other method as itself', () => {
    expect(['HEAD', 'GET', 'POST', 'OPTIONS'].map(pricedMethod)).toEqual(['GET', 'GET', 'POST', 'OPTIONS']);
  });
});
