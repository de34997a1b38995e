/**
 * The IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-10):
 * structured-field lists of items named by policy, with `q` (quota) on the policy and `r`
 * (remaining) on the limit. Prepaid credits have no window and no reset, so neither `w`
 * nor `t` is sent. The quota is the balance the request saw; remaining is what is left.
 */
export const RATE_LIMIT_POLICY_NAME = 'credits';

export const rateLimitHeaders = (quota: number, remaining: number): Record<string, string> => ({
  'ratelimit-policy': `"${RATE_LIMIT_POLICY_NAME}";q=${Math.max(0, Math.trunc(quota))}`,
  ratelimit: `"${RATE_LIMIT_POLICY_NAME}";r=${Math.max(0, Math.trunc(remaining))}`,
});
