import { describe, expect, it } from 'vitest';
import { newUlid, stableUlid } from './ulid.ts';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('ulid', () => {
  it('encodes the time first, so ids of later milliseconds sort after earlier ones', () => {
    expect(newUlid(0).slice(0, 10)).toBe('0000000000');
    // The example of the ULID specification: 1469918176385 ms is 01ARYZ6S41.
    expect(newUlid(1469918176385).slice(0, 10)).toBe('01ARYZ6S41');
    const ids = [1, 2, 1_000, Date.UTC(2026, 0, 1)].map((t) => newUlid(t));
    for (const id of ids) expect(id).toMatch(ULID);
    expect([...ids].sort()).toEqual(ids);
    expect(newUlid(5)).not.toBe(newUlid(5));
  });

  it('derives a stable id from a text', () => {
    expect(stableUlid('tpp-1')).toMatch(ULID);
    expect(stableUlid('tpp-1')).toBe(stableUlid('tpp-1'));
    expect(stableUlid('tpp-1')).not.toBe(stableUlid('tpp-2'));
  });
});
