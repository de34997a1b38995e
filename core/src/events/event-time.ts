import { DAY_MS, daysFromCivil, daysInMonth } from '../utc-calendar.ts';

/**
 * When an event may say it happened. A time is a real calendar instant in RFC 3339
 * (`2026-02-30T…` is refused, not read as 2 March), inside what ClickHouse's DateTime64(3) can
 * hold (years 1900 to 2299: outside, it wraps, and 0001-01-01 was stored in 2042), and inside
 * the acceptance window around the instant it arrived (ingest: now; the sink: the Kafka
 * message timestamp). The window keeps every event inside the dedupe horizon, and a far
 * future time from being charged only when it comes.
 */
export interface EventTimeWindow {
  /** The oldest an event may be when it arrives. */
  maxAgeMs: number;
  /** The furthest ahead of its arrival an event may be (clock skew). */
  maxAheadMs: number;
}

const MINUTE_MS = 60_000;

/** 31 days old (inside the 32-day dedupe horizon), 5 minutes ahead; EVENT_MAX_AGE_MS and EVENT_MAX_AHEAD_MS change it. */
export const DEFAULT_EVENT_TIME_WINDOW: EventTimeWindow = { maxAgeMs: 31 * DAY_MS, maxAheadMs: 5 * MINUTE_MS };

/** The range DateTime64(3) stores without wrapping. */
const FIRST_MS = Date.UTC(1900, 0, 1);
const END_MS = Date.UTC(2300, 0, 1);

/** The value of the `n` decimal digits of `s` at `at`, or -1 when one of them is not a digit. */
const digits = (s: string, at: number, n: number): number => {
  let value = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48; // NaN past the end
    if (!(d >= 0 && d <= 9)) return -1;
    value = value * 10 + d;
  }
  return value;
};

const isDigit = (s: string, at: number): boolean => {
  const c = s.charCodeAt(at);
  return c >= 48 && c <= 57;
};

/**
 * Epoch milliseconds of an RFC 3339 date-time (`YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`, `T`
 * and `Z` in either case), or undefined when it is not one or names no real instant (a
 * 30 February, hour 24, a leap second, an offset beyond ±23:59). Digits past the millisecond
 * are dropped, as the store keeps milliseconds. Read character by character, without a Date or
 * a regular expression: the sink reads one per event.
 */
export const parseRfc3339 = (raw: string): number | undefined => {
  if (raw.length < 20 || raw.charCodeAt(4) !== 45 || raw.charCodeAt(7) !== 45 || raw.charCodeAt(13) !== 58 || raw.charCodeAt(16) !== 58) return undefined;
  const t = raw.charCodeAt(10);
  if (t !== 84 && t !== 116) return undefined; // T t
  const year = digits(raw, 0, 4);
  const month = digits(raw, 5, 2);
  const day = digits(raw, 8, 2);
  const hour = digits(raw, 11, 2);
  const minute = digits(raw, 14, 2);
  const second = digits(raw, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  let at = 19;
  let millis = 0;
  if (raw.charCodeAt(at) === 46) {
    // '.' then 1 to 9 digits; the first three are the milliseconds.
    const from = ++at;
    while (at - from < 9 && isDigit(raw, at)) at++;
    if (at === from) return undefined;
    for (let i = from; i < from + 3; i++) millis = millis * 10 + (i < at ? raw.charCodeAt(i) - 48 : 0);
  }
  let offsetMinutes = 0;
  const zone = raw.charCodeAt(at);
  if (zone === 90 || zone === 122) {
    // Z z
    at += 1;
  } else if (zone === 43 || zone === 45) {
    // + -
    const hours = digits(raw, at + 1, 2);
    const minutes = digits(raw, at + 4, 2);
    if (raw.charCodeAt(at + 3) !== 58 || hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return undefined;
    offsetMinutes = (zone === 45 ? -1 : 1) * (hours * 60 + minutes);
    at += 6;
  } else return undefined;
  if (at !== raw.length) return undefined;
  return daysFromCivil(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + millis - offsetMinutes * MINUTE_MS;
};

/** Why an event time is refused, or undefined when it is accepted. `arrivalMs` is when the event arrived; without it only the store's range is checked. */
export const eventTimeProblem = (timeMs: number, arrivalMs: number | undefined, window: EventTimeWindow = DEFAULT_EVENT_TIME_WINDOW): string | undefined => {
  if (timeMs < FIRST_MS || timeMs >= END_MS) return 'time must be from 1900 to 2299';
  if (arrivalMs === undefined) return undefined;
  if (timeMs < arrivalMs - window.maxAgeMs) return `time must be at most ${describe(window.maxAgeMs)} before the event arrives`;
  if (timeMs > arrivalMs + window.maxAheadMs) return `time must be at most ${describe(window.maxAheadMs)} after the event arrives`;
  return undefined;
};

const describe = (ms: number): string => {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS} days`;
  if (ms % MINUTE_MS === 0) return `${ms / MINUTE_MS} minutes`;
  return `${ms} ms`;
};

/** The variables of the acceptance window: the ingest API and the sink read them. */
export const EVENT_TIME_ENV = ['EVENT_MAX_AGE_MS', 'EVENT_MAX_AHEAD_MS'] as const;

/** The acceptance window from the environment, as `readServiceEnv` gives it. */
export const eventTimeWindowFromEnv = (env: { EVENT_MAX_AGE_MS: number; EVENT_MAX_AHEAD_MS: number }): EventTimeWindow => ({
  maxAgeMs: env.EVENT_MAX_AGE_MS,
  maxAheadMs: env.EVENT_MAX_AHEAD_MS,
});
