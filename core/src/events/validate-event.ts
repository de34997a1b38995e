import { DEFAULT_MAX_COST } from '../config/tollgate-config.ts';
import { isValidSubject } from '../subject.ts';
import { API_CALL_TYPE } from './api-call.ts';
import { DEFAULT_EVENT_TIME_WINDOW, eventTimeProblem, parseRfc3339, type EventTimeWindow } from './event-time.ts';

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

/** What an event is checked against besides its shape. */
export interface EventChecks {
  /** Stands in for a missing `time` (the ingest API's arrival time). */
  defaultTimeMs?: number | undefined;
  /** When the event arrived, which the acceptance window is measured from: at ingest now, at the sink the Kafka message timestamp. */
  arrivalMs?: number | undefined;
  window?: EventTimeWindow | undefined;
  /** The most one call may cost (`credits.maxCost`). */
  maxCost?: number | undefined;
}

/**
 * `metered`: an api.call that an API reported itself through the ingest API, priced there by the
 * route rules and charged by reconciliation only (no real-time debit was made for it).
 */
export const DECISIONS = new Set(['debited', 'denied', 'refunded', 'unverified', 'free', 'metered']);
const MAX_ATTRIBUTE = 256;
/** Deeper `data` is refused: nothing metered nests this far, and serialising it again must not exhaust the stack. */
export const MAX_DATA_DEPTH = 32;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
// Well-formed Unicode only: a lone surrogate cannot be stored as UTF-8, and a batch holding one would fail its insert whole.
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ATTRIBUTE && v.isWellFormed();
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const JSON_CONTENT = /^application\/json\s*(;.*)?$/i;

/** Whether a parsed JSON value has more than `max` objects or arrays nested in each other, found without recursion. */
export const nestsDeeperThan = (value: unknown, max: number): boolean => {
  const isContainer = (v: unknown): v is object => typeof v === 'object' && v !== null;
  let level: object[] = isContainer(value) ? [value] : [];
  for (let depth = 1; level.length > 0; depth += 1) {
    if (depth > max) return true;
    const next: object[] = [];
    for (const container of level) {
      // Own keys only, as Object.values, without an array of the values per container.
      for (const key in container) {
        const v: unknown = (container as Record<string, unknown>)[key];
        if (isContainer(v) && Object.hasOwn(container, key)) next.push(v);
      }
    }
    level = next;
  }
  return false;
};

const apiCallProblem = (data: Obj, maxCost: number): string | undefined => {
  if (typeof data.endpoint !== 'string') return 'data.endpoint must be a string';
  if (typeof data.method !== 'string') return 'data.method must be a string';
  if (data.status_code !== undefined && !isCount(data.status_code)) return 'data.status_code must be a non-negative integer';
  if (data.response_time_ms !== undefined && (typeof data.response_time_ms !== 'number' || !(data.response_time_ms >= 0))) {
    return 'data.response_time_ms must be a non-negative number';
  }
  if (!isCount(data.cost)) return 'data.cost must be a non-negative integer';
  if (data.cost > maxCost) return `data.cost must be at most ${maxCost} (credits.maxCost)`;
  if (typeof data.decision !== 'string' || !DECISIONS.has(data.decision)) return `data.decision must be one of ${[...DECISIONS].join(', ')}`;
  return undefined;
};

const timeOf = (value: Obj, checks: EventChecks): number | string => {
  const raw = value.time;
  const timeMs = raw === undefined ? checks.defaultTimeMs : typeof raw === 'string' ? parseRfc3339(raw) : undefined;
  if (raw !== undefined && timeMs === undefined) return 'time must be an RFC 3339 date-time naming a real instant, such as 2026-01-15T10:30:00.123Z';
  if (timeMs === undefined) return 'time is required';
  return eventTimeProblem(timeMs, checks.arrivalMs, checks.window ?? DEFAULT_EVENT_TIME_WINDOW) ?? timeMs;
};

/**
 * Checks one CloudEvent (structured JSON, already parsed) and normalises it for storage: the
 * CloudEvents required attributes and a subject; a time inside the acceptance window; `data` a
 * JSON object or null, never `data_base64` or another content type (as OpenMeter); and for
 * api.call, Tollgate's fields with a cost within `credits.maxCost`.
 */
export const validateEvent = (value: unknown, checks: EventChecks = {}): Validation => {
  const fail = (reason: string): Validation => ({ ok: false, reason });
  if (!isObj(value)) return fail('not a JSON object');
  if (value.specversion !== '1.0') return fail('specversion must be "1.0"');
  if (!isText(value.id)) return fail(`id must be a string of 1 to ${MAX_ATTRIBUTE} characters of Unicode text`);
  if (!isText(value.source)) return fail(`source must be a string of 1 to ${MAX_ATTRIBUTE} characters of Unicode text`);
  if (!isText(value.type)) return fail(`type must be a string of 1 to ${MAX_ATTRIBUTE} characters of Unicode text`);
  if (!isValidSubject(value.subject)) return fail('subject must match [A-Za-z0-9._:-]{1,128}');
  const timeMs = timeOf(value, checks);
  if (typeof timeMs === 'string') return fail(timeMs);
  if (value.data_base64 !== undefined) return fail('data_base64 is not accepted: data must be a JSON object or null');
  const contentType = value.datacontenttype;
  if (contentType !== undefined && contentType !== null && contentType !== 'application/json' && (typeof contentType !== 'string' || !JSON_CONTENT.test(contentType))) {
    return fail('datacontenttype must be application/json');
  }
  if (value.data !== undefined && value.data !== null && !isObj(value.data)) return fail('data must be a JSON object or null');
  const data = isObj(value.data) ? value.data : {};
  if (nestsDeeperThan(data, MAX_DATA_DEPTH)) return fail(`data must not nest deeper than ${MAX_DATA_DEPTH} levels`);
  if (value.type === API_CALL_TYPE) {
    const problem = apiCallProblem(data, checks.maxCost ?? DEFAULT_MAX_COST);
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

/** Parses and checks a raw message (bytes or text): the sink's one call, with the message's timestamp as `arrivalMs`. */
export const parseEvent = (raw: Buffer | string | null | undefined, checks: EventChecks = {}): Validation => {
  if (raw === null || raw === undefined || raw.length === 0) return { ok: false, reason: 'empty message' };
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return validateEvent(value, checks);
};
