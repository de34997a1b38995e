import { randomUUID } from 'node:crypto';
import { buildApiCallEvent } from '@tollgate/core/events';

/** The contenders of the client benchmark; `none` builds the events and sends nothing. */
export type ClientName = 'none' | 'kafkajs' | 'tollgate';

const SUBJECTS = 1_000;

/** Event `i`: a realistic api.call of one of 1,000 subjects, 417 bytes of JSON. */
export const clientBenchEvent = (i: number): { key: string; value: string } => {
  const subject = `tpp-${String(i % SUBJECTS).padStart(6, '0')}`;
  const event = buildApiCallEvent({
    source: 'open-banking-gateway-eu-west-1-prod-a',
    subject,
    timeMs: Date.UTC(2026, 0, 15, 10, 30) + i,
    id: randomUUID(),
    data: { endpoint: '/open-banking/v3.1/aisp/accounts/{AccountId}/statements/{StatementId}/transactions', method: 'GET', status_code: 200, response_time_ms: 145, cost: 1, decision: 'debited' },
  });
  return { key: subject, value: JSON.stringify(event) };
};

