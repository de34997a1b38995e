import { countingCell, metrics } from './metrics.ts';

/**
 * The series a component that debits on every request counts, bound to their labels once:
 * its credit decisions (counting cells), and the latency and errors of its debits.
 */
export const debitMetrics = (component: string) => {
  const decision = (name: string) => countingCell(metrics.creditDecisions, { decision: name, component });
  return {
    decision: {
      debited: decision('debited'),
      denied: decision('denied'),
      refunded: decision('refunded'),
      unverified: decision('unverified'),
      free: decision('free'),
      // Refused because the store could not be asked (within its budget).
      unavailable: decision('unavailable'),
    },
    debitLatency: { ok: metrics.storeLatency.labels('debit', 'ok'), error: metrics.storeLatency.labels('debit', 'error') },
    debitErrors: { timeout: metrics.storeErrors.labels('debit', 'timeout'), error: metrics.storeErrors.labels('debit', 'error') },
  };
};

/** Counts a service's answered requests by status class (1xx … 5xx), one addition per request. */
export const answeredRequests = (service: string): ((status: number) => void) => {
  const byClass = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'].map((status) => countingCell(metrics.httpRequests, { service, status }));
  return (status) => byClass[Math.trunc(status / 100)]?.inc();
};
