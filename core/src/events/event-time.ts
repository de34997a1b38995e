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
const DAY_MS = 24 * 60 * MINUTE_MS;

/** 31 days old (inside the 32-day dedupe horizon), 5 minutes ahead; EVENT_MAX_AGE_MS and EVENT_MAX_AHEAD_MS change it. */
export const DEFAULT_EVENT_TIME_WINDOW: EventTimeWindow = { maxAgeMs: 31 * DAY_MS, maxAheadMs: 5 * MINUTE_MS };

/** The range DateTime64(3) stores without wrapping. */
const FIRST_MS = Date.UTC(1900, 0, 1);
const END_MS = Date.UTC(2300, 0, 1);

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch milliseconds of an RFC 3339 date-time, or undefined when it is not one or names no
 * real instant (a 30 February, hour 24, a leap second, an offset beyond ±23:59). Digits past
 * the millisecond are dropped, as the store keeps milliseconds.
 */
export const parseRfc3339 = (raw: string): number | undefined => {
  const m = RFC3339.exec(raw);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const calendar = new Date(Date.UTC(2000, month - 1, day));
  calendar.setUTCFullYear(year);
  if (month < 1 || month > 12 || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const millis = Number((m[7] ?? '.0').slice(1, 4).padEnd(3, '0'));
  const sign = m[9] === '-' ? -1 : 1;
  const local = calendar.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
  return local - sign * (offsetHours * 60 + offsetMinutes) * MINUTE_MS;
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
