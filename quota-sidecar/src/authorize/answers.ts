import { TollgateError } from '@tollgate/core';
import { problemOf, rateLimitHeaders } from '@tollgate/core/http';
import type { Call } from '@tollgate/core/charging';

/**
 * The RateLimit fields of a decision: the quota is the balance the request saw, remaining is
 * what is left. A store that did not answer gives no numbers to report.
 */
export const decisionHeaders = (d: Call): Record<string, string> => {
  if (d.balance === null) return {};
  return d.outcome === 'debited' ? rateLimitHeaders(d.balance + d.cost, d.balance) : rateLimitHeaders(d.balance, d.balance);
};

/** The error a refusing decision is answered with; undefined when the call is allowed. */
export const decisionError = (d: Call): TollgateError | undefined => {
  if (d.outcome === 'denied') {
    return new TollgateError(
      'INSUFFICIENT_CREDITS',
      `The balance of ${d.balance} credits does not cover the cost of ${d.cost}.`,
      { balance: d.balance, cost: d.cost },
    );
  }
  if (d.outcome === 'unavailable') {
    return new TollgateError('STORE_UNAVAILABLE', 'The credit store did not answer; the call is refused.', { cost: d.cost });
  }
  return undefined;
};

/** A problem document as one header line: JSON escapes control characters, and non-ASCII is escaped here. */
export const problemHeaderValue = (err: TollgateError): string =>
  JSON.stringify(problemOf(err)).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
