import { isValidSubject } from '../subject.ts';
import { API_CALL_TYPE } from './api-call.ts';

/** An event as stored: what the sink inserts and the ingest API accepts. */
export interface StoredEvent {
  source: string;
  id: string;
  type: string;
  subject: string;
  /** Epoch milliseconds. */
  timeMs: number;
  /** `data` as JSON text ('{}' when absent). */
  data: string;
  /** Credits owed (api.call `data.cost`; 0 for other types). */
  cost: number;
  /** api.call `data.decision`; '' for other types. */
  decision: string;
}

export type Validation = { ok: true; event: StoredEvent } | { ok: false; reason: string };

const DECISIONS = new Set(['debited', 'denied', 'refunded', 'unverified', 'free']);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_ATTRIBUTE = 256;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ATTRIBUTE;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

const apiCallProblem = (data: Obj): string | undefined => {
  if (typeof data.endpoint !== 'string') return 'data.endpoint must be a string';
  if (typeof data.method !== 'string') return 'data.method must be a string';
  if (!isCount(data.status_code)) return 'data.status_code must be a non-negative integer';
  if (typeof data.response_time_ms !== 'number' || !(data.response_time_ms >= 0)) return 'data.response_time_ms must be a non-negative number';
  if (!isCount(data.cost)) return 'data.cost must be a non-negative integer';
  if (typeof data.decision !== 'string' || !DECISIONS.has(data.decision)) return `data.decision must be one of ${[...DECISIONS].join(', ')}`;
  return undefined;
};

/**
 * Checks one CloudEvent (structured JSON, already parsed) and normalises it for storage.
 * `defaultTimeMs` stands in for a missing `time` (the ingest API's arrival time).
 */
export const validateEvent = (value: unknown, defaultTimeMs?: number): Validation => {
  const fail = (reason: string): Validation => ({ ok: false, reason });
  if (!isObj(value)) return fail('not a JSON object');
  if (value.specversion !== '1.0') return fail('specversion must be "1.0"');
  if (!isText(value.id)) return fail(`id must be a string of 1 to ${MAX_ATTRIBUTE} characters`);
  if (!isText(value.source)) return fail(`source must be a string of 1 to ${MAX_ATTRIBUTE} characters`);
  if (!isText(value.type)) return fail(`type must be a string of 1 to ${MAX_ATTRIBUTE} characters`);
  if (!isValidSubject(value.subject)) return fail('subject must match [A-Za-z0-9._:-]{1,128}');
  let timeMs = defaultTimeMs;
  if (value.time !== undefined) {
    if (typeof value.time !== 'string' || !RFC3339.test(value.time) || Number.isNaN(Date.parse(value.time))) {
      return fail('time must be an RFC 3339 timestamp');
    }
    timeMs = Date.parse(value.time);
  }
  if (timeMs === undefined) return fail('time is required');
  if (value.data !== undefined && value.data !== null && !isObj(value.data)) return fail('data must be a JSON object');
  const data = isObj(value.data) ? value.data : {};
  if (value.type === API_CALL_TYPE) {
    const problem = apiCallProblem(data);
    if (problem) return fail(problem);
  }
  return {
    ok: true,
    event: {
      source: value.source,
      id: value.id,
      type: value.type,
      subject: value.subject,
      timeMs,
      data: JSON.stringify(data),
      cost: value.type === API_CALL_TYPE ? (data.cost as number) : 0,
      decision: value.type === API_CALL_TYPE ? (data.decision as string) : '',
    },
  };
};

/** Parses and checks a raw message (bytes or text). */
export const parseEvent = (raw: Buffer | string | null | undefined, defaultTimeMs?: number): Validation => {
  if (raw === null || raw === undefined || raw.length === 0) return { ok: false, reason: 'empty message' };
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return validateEvent(value, defaultTimeMs);
};
