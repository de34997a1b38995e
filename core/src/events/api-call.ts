import { randomUUID } from 'node:crypto';
import { CloudEvent } from 'cloudevents';

export const API_CALL_TYPE = 'api.call';

/** What the call owes and why: see DESIGN.md "Events". */
export type Decision = 'debited' | 'denied' | 'refunded' | 'unverified' | 'free';

export interface ApiCallData {
  endpoint: string;
  method: string;
  status_code: number;
  response_time_ms: number;
  /** Credits the call owes; reconciliation sums this. */
  cost: number;
  decision: Decision;
}

export type ApiCallEvent = CloudEvent<ApiCallData>;

export interface ApiCallInput {
  source: string;
  subject: string;
  /** Epoch milliseconds of the request; the same instant chose the debit's minute bucket. */
  timeMs: number;
  data: ApiCallData;
  id?: string;
}

/**
 * One `api.call` CloudEvent 1.0 with millisecond time and a unique id. The SDK's schema
 * validation is skipped (it costs more per request than the rest of the event): every
 * attribute here is set by this function, and the sink and ingest API validate what they take.
 */
export const buildApiCallEvent = ({ source, subject, timeMs, data, id = randomUUID() }: ApiCallInput): ApiCallEvent =>
  new CloudEvent<ApiCallData>(
    {
      specversion: '1.0',
      type: API_CALL_TYPE,
      source,
      id,
      time: new Date(timeMs).toISOString(),
      subject,
      datacontenttype: 'application/json',
      data,
    },
    false,
  );
