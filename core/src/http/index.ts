/** @tollgate/core/http: problem+json answers, bounded JSON bodies and the RateLimit headers. */
export * from './problem.ts';
export * from './ratelimit-headers.ts';
export * from './body.ts';
export * from './json-depth.ts';
