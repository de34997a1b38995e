import { countingCell, metrics } from '@tollgate/core';

/** The middleware's metric children, bound to their labels once rather than per request. */
export const gatewayMetrics = () => {
  const decision = (name: string) => countingCell(metrics.creditDecisions, { decision: name, component: 'gateway' });
  return {
    decision: {
      debited: decision('debited'),
      denied: decision('denied'),
      refunded: decision('refunded'),
      unverified: decision('unverified'),
      free: decision('free'),
      // A 503 because the store could not be asked (its event says `denied`).
      unavailable: decision('unavailable'),
    },
    debitLatency: {
      ok: metrics.storeLatency.labels('debit', 'ok'),
      error: metrics.storeLatency.labels('debit', 'error'),
    },
    debitErrors: {
      timeout: metrics.storeErrors.labels('debit', 'timeout'),
      error: metrics.storeErrors.labels('debit', 'error'),
    },
    refundErrors: metrics.storeErrors.labels('refund', 'error'),
    // Indexed by status / 100: every request tollgate answers or passes on, counted once.
    answered: ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'].map((status) => countingCell(metrics.httpRequests, { service: 'gateway', status })),
  };
};
