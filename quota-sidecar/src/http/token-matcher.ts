import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/**
 * Whether a presented token is one of `tokens`. Tokens are compared as SHA-256 digests with
 * timingSafeEqual, so neither a token's content nor its length shows in the timing, and every
 * configured token is compared every time. With no tokens, nothing matches.
 */
export const tokenMatcher = (tokens: readonly string[]): ((presented: string) => boolean) => {
  const accepted = tokens.filter((t) => t !== '').map(digest);
  return function matches(presented) {
    const given = digest(presented);
    let valid = false;
    for (const token of accepted) valid = timingSafeEqual(token, given) || valid;
    return valid;
  };
};
