/** @tollgate/core/metrics: every metric, defined once in one registry, and the helpers that record them. */
export * from './metrics.ts';
export * from './request-metrics.ts';
export * from './count-ingested.ts';
