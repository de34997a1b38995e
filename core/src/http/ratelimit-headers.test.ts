import { describe, expect, it } from 'vitest';
import { rateLimitHeaders } from './ratelimit-headers.ts';

describe('rateLimitHeaders', () => {
  it('writes draft-10 structured fields', () => {
    expect(rateLimitHeaders(100, 99)).toEqual({ 'ratelimit-policy': '"credits";q=100', ratelimit: '"credits";r=99' });
  });
  it('never sends a negative count', () => {
    expect(rateLimitHeaders(-5, -6)).toEqual({ 'ratelimit-policy': '"credits";q=0', ratelimit: '"credits";r=0' });
  });
});
