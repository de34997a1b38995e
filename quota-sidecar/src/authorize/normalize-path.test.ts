import { describe, expect, it } from 'vitest';
import { normalizePath } from './normalize-path.ts';

describe('normalizePath', () => {
  it.each([
    ['/accounts', '/accounts'],
    ['/accounts/', '/accounts/'],
    ['/accounts?limit=5', '/accounts'],
    ['/accounts#frag', '/accounts'],
    ['/%70ayments', '/payments'],
    ['/%7Eme', '/~me'],
    ['/a%2Fb', '/a%2Fb'],
    ['/a%2fb', '/a%2Fb'],
    ['//payments//1', '/payments/1'],
    ['/accounts/../payments', '/payments'],
    ['/./payments/.', '/payments/'],
    ['/../../payments', '/payments'],
    ['/', '/'],
    ['', '/'],
  ])('%j → %j', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });
});
