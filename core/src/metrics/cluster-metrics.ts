import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { registry } from './metrics.ts';

/** A worker asks its primary for the metrics of every worker; the primary answers with the text. */
interface MetricsRequest {
  type: 'tollgate:metrics-request';
  id: number;
}
interface MetricsAnswer {
  type: 'tollgate:metrics-answer';
  id: number;
  text?: string;
  error?: string;
}

const isRequest = (m: unknown): m is MetricsRequest =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'tollgate:metrics-request';
const isAnswer = (m: unknown): m is MetricsAnswer =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'tollgate:metrics-answer';

/**
 * In the primary of a node:cluster service: answers every worker's request with the metrics
 * of all workers, summed by prom-client's cluster aggregation (counters add up, so a scrape
 * that lands on any worker sees the whole service).
 */
export const serveClusterMetrics = (): void => {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isRequest(message)) return;
    const reply = (answer: Omit<MetricsAnswer, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: 'tollgate:metrics-answer', id: message.id, ...answer } satisfies MetricsAnswer);
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: unknown) => reply({ error: String(err) }),
    );
  });
};

/**
 * In a worker: offers this process's registry to the primary's aggregation, and returns the
 * function that /metrics calls to get the whole service's metrics from the primary.
 */
export const clusterMetricsText = (timeoutMs = 10_000): (() => Promise<string>) => {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one registers the worker's answer to the primary's collection requests.
  new AggregatorRegistry();
  let next = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  process.on('message', (message: unknown) => {
    if (!isAnswer(message)) return;
    const request = pending.get(message.id);
    if (!request) return;
    pending.delete(message.id);
    if (message.error !== undefined || message.text === undefined) request.reject(new Error(`metrics of the workers: ${message.error ?? 'no answer'}`));
    else request.resolve(message.text);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the primary did not send the workers' metrics within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      process.send?.({ type: 'tollgate:metrics-request', id } satisfies MetricsRequest);
    });
};
