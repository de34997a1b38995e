import { createPricer, type TollgateConfig } from '@tollgate/core/config';
import { normalizePath, pricedMethod } from '@tollgate/core/charging';
import { API_CALL_TYPE } from '@tollgate/core/events';
import { isObject } from '../http/json-request.ts';

/** What an API that meters itself is recorded with: charged by reconciliation, never by the real-time path. */
export const SELF_METERED = 'metered';

/**
 * An api.call event in OpenMeter's source format (`data: {endpoint, method, status_code,
 * response_time_ms}`, without Tollgate's `cost` and `decision`) is priced here exactly as a call
 * through the gateway: the route rules for its `data.method` and normalised `data.endpoint`,
 * or the configured default cost when none matches. It gets `cost` and `decision: metered`
 * in its data, so the event carries its price to the sink and to every replay. An event that
 * already has either field, or no method and endpoint to price by, is left to validation.
 */
export const createIngestPricer = (config: TollgateConfig) => {
  const price = createPricer(config);
  return function priceIngested(value: unknown): unknown {
    if (!isObject(value) || value.type !== API_CALL_TYPE || !isObject(value.data)) return value;
    const { data } = value;
    if (data.cost !== undefined || data.decision !== undefined) return value;
    if (typeof data.method !== 'string' || typeof data.endpoint !== 'string') return value;
    const { cost } = price(pricedMethod(data.method.toUpperCase()), normalizePath(data.endpoint));
    return { ...value, data: { ...data, cost, decision: SELF_METERED } };
  };
};
