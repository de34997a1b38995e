import { answeredRequests, debitMetrics, metrics } from '@tollgate/core';

/** The middleware's metric series, bound to their labels once rather than per request. */
export const gatewayMetrics = () => ({
  ...debitMetrics('gateway'),
  refundErrors: metrics.storeErrors.labels('refund', 'error'),
  // Every request tollgate answers or passes on, counted once by its status.
  answered: answeredRequests('gateway'),
});
