import { buildApiCallEvent, type ApiCallEvent, type Decision as EventDecision } from '@tollgate/core';
import type { Decision } from './decide.ts';

export interface DecisionEventInput {
  source: string;
  subject: string;
  /** Upper-case method of the original request. */
  method: string;
  /** Normalised path of the original request. */
  path: string;
  /** The instant whose minute bucket the debit went to. */
  timeMs: number;
  /** How long the decision took. */
  elapsedMs: number;
  decision: Decision;
}

/** What a decision owes and the status the caller was answered with (DESIGN.md "Events"). */
const OUTCOMES: Record<Decision['outcome'], (d: Decision) => { decision: EventDecision; cost: number; status: number }> = {
  debited: (d) => ({ decision: 'debited', cost: d.cost, status: 200 }),
  free: () => ({ decision: 'free', cost: 0, status: 200 }),
  // Let through while the store was away: owes its cost, which reconciliation charges.
  unverified: (d) => ({ decision: 'unverified', cost: d.cost, status: 200 }),
  denied: () => ({ decision: 'denied', cost: 0, status: 429 }),
  // Refused under a `deny` store-error policy: nothing was let through, so nothing is owed.
  unavailable: () => ({ decision: 'denied', cost: 0, status: 503 }),
};

/**
 * The api.call event of one sidecar decision. The sidecar answers before the call reaches the
 * upstream, so `status_code` is the sidecar's own answer (200 allowed, 429/503 refused) and
 * `response_time_ms` the time of the decision, not of the upstream call.
 */
export const decisionEvent = ({ source, subject, method, path, timeMs, elapsedMs, decision }: DecisionEventInput): ApiCallEvent => {
  const { decision: outcome, cost, status } = OUTCOMES[decision.outcome](decision);
  return buildApiCallEvent({
    source,
    subject,
    timeMs,
    data: { endpoint: path, method, status_code: status, response_time_ms: Math.round(elapsedMs), cost, decision: outcome },
  });
};
