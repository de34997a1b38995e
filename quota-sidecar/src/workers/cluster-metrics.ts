import { AggregatorRegistry } from 'prom-client';
import { registry } from '@tollgate/core/metrics';
import { answerWorkerCalls, callPrimary } from './primary-calls.ts';

const METRICS_CALL = 'metrics';

/**
 * In the primary of a node:cluster service: answers every worker's request with the metrics
 * of all workers, summed by prom-client's cluster aggregation (counters add up, so a scrape
 * that lands on any worker sees the whole service).
 */
export const serveClusterMetrics = (): void => {
  const aggregator = new AggregatorRegistry();
  answerWorkerCalls(METRICS_CALL, () => aggregator.clusterMetrics());
};

/**
 * In a worker: offers this process's registry to the primary's aggregation, and returns the
 * function that /metrics calls to get the whole service's metrics from the primary.
 */
export const clusterMetricsText = (timeoutMs = 10_000): (() => Promise<string>) => {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one registers the worker's answer to the primary's collection requests.
  new AggregatorRegistry();
  return () => callPrimary<string>(METRICS_CALL, null, timeoutMs);
};
