import type { Meter } from './meter.ts';
import { NUMERIC_TEXT } from './query-sql.ts';

const NUMERIC = new RegExp(NUMERIC_TEXT);
const SHOWN_TEXT = 64;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const kind = (v: unknown): string => (Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
const shown = (text: string) => JSON.stringify([...text].length > SHOWN_TEXT ? `${[...text].slice(0, SHOWN_TEXT).join('')}…` : text);

/** The value at a meter path: only objects are walked into, as the query's JSON functions do. */
const lookup = (data: unknown, path: string[]): { found: false } | { found: true; value: unknown } => {
  let at = data;
  for (const key of path) {
    if (!isObj(at) || !Object.hasOwn(at, key)) return { found: false };
    at = at[key];
  }
  return { found: true, value: at };
};

/**
 * Why an event does not contribute to a meter's value, or undefined when it does. The same rules
 * as the meter query (query-sql.ts): a value that is missing, null, not a number (a numeric string
 * counts), NaN or ±Inf is left out of SUM, AVG, MIN, MAX and LATEST; UNIQUE_COUNT takes any
 * scalar; COUNT counts every event.
 */
export const meterValueError = (meter: Meter, data: unknown): string | undefined => {
  if (meter.aggregation === 'COUNT' || !meter.valuePath) return undefined;
  const path = meter.valueProperty ?? '';
  const found = lookup(data, meter.valuePath);
  if (!found.found) return `missing value property "${path}"`;
  const { value } = found;
  if (value === null) return `value property "${path}" is null`;
  if (meter.aggregation === 'UNIQUE_COUNT') return typeof value === 'object' ? `value property "${path}" is ${kind(value)}, not a scalar` : undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `value property "${path}" is not finite`;
  if (typeof value !== 'string') return `value property "${path}" is ${kind(value)}, not a number`;
  if (!NUMERIC.test(value)) return `value property "${path}" is not a number: ${shown(value)}`;
  return Number.isFinite(Number(value)) ? undefined : `value property "${path}" is not finite: ${shown(value)}`;
};

/**
 * The validation error OpenMeter's event listing shows for an event: the error of each meter of
 * its type that the event does not contribute to (named by slug), one per line, or that no meter
 * reads its type; undefined when every meter of its type counts it.
 */
export const eventValidationError = (meters: readonly Meter[], type: string, data: unknown): string | undefined => {
  const ofType = meters.filter((m) => m.eventType === type);
  if (ofType.length === 0) return `no meter found for event type: ${type}`;
  const errors = ofType.flatMap((m) => {
    const error = meterValueError(m, data);
    return error === undefined ? [] : [`meter ${m.slug}: ${error}`];
  });
  return errors.length > 0 ? errors.join('\n') : undefined;
};
