import { randomUUIDv7 } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';

export const API_CALL_TYPE = 'api.call';

/**
 * Why the call owes its `cost`: `debited` in real time; `denied` (429, cost 0); `refunded`
 * (cost 0); `unverified`, let through while the store did not answer (cost: what it would have
 * been charged, charged by reconciliation); `free`, a route that costs 0.
 */
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

export type ApiCallEvent = Readonly<CloudEventV1<ApiCallData>>;

export interface ApiCallInput {
  source: string;
  subject: string;
  /** Epoch milliseconds of the request; the same instant chose the debit's minute bucket. */
  timeMs: number;
  data: ApiCallData;
  id?: string;
}

let second = Number.NaN;
let secondPrefix = '';

/**
 * RFC 3339 UTC with milliseconds, as Date#toISOString gives it: the date and time up to the
 * second is formatted once per second, and each call adds its milliseconds.
 */
export const eventTime = (ms: number): string => {
  const t = Math.floor(ms);
  const s = t - (((t % 1000) + 1000) % 1000);
  // Years past 9999 (and before 0) have a longer prefix: leave them to Date.
  if (s !== second) {
    const iso = new Date(s).toISOString();
    if (iso.length !== 24) return new Date(t).toISOString();
    secondPrefix = iso.slice(0, 20);
    second = s;
  }
  const milli = t - s;
  return `${secondPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
};

/**
 * One `api.call` CloudEvent 1.0 with millisecond time and a unique, time-ordered id (UUIDv7:
 * the writer's lookup of a batch's keys then reads the newest granules of `event_keys`, not the
 * whole table), as a frozen plain
 * object: this runs once per request, and the SDK's constructor (property copying, the
 * extension scan) cost as much again as the rest of the event. Attributes are set in the
 * order of the SDK's `CloudEvent`, so `JSON.stringify` gives the bytes it gives; every
 * attribute is set here, and the sink and ingest API validate what they take.
 */
export const buildApiCallEvent = ({ source, subject, timeMs, data, id = randomUUIDv7() }: ApiCallInput): ApiCallEvent =>
  Object.freeze({
    id,
    time: eventTime(timeMs),
    type: API_CALL_TYPE,
    source,
    specversion: '1.0',
    datacontenttype: 'application/json',
    subject,
    data,
  });
