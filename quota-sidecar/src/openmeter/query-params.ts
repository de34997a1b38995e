import { isValidSubject, TollgateError } from '@tollgate/core';
import { parseRfc3339 } from '@tollgate/core/events';
import { WINDOW_SIZES, type Meter, type MeterQuery, type WindowSize } from '@tollgate/core/meters';

const TIME_ZONE = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;
const FILTER_GROUP_BY = /^filterGroupBy\[(.*)\]$/;
/** OpenMeter parameters this API does not implement: refused, never ignored, since ignoring a filter answers wrongly. */
const UNSUPPORTED = [/^advancedMeterGroupByFilters/, /^filterCustomerId$/];

/** Epoch milliseconds of an RFC 3339 timestamp, or undefined. A `+` sent unencoded arrives as a space and is taken back. */
export const parseTimestamp = (raw: string): number | undefined => parseRfc3339(raw.replace(/ (\d{2}:\d{2})$/, '+$1'));

/** A time parameter: its epoch milliseconds, or undefined when absent; a value that is not RFC 3339 is pushed onto `problems`. */
export const timeParam = (name: string, value: string | undefined, problems: string[]): number | undefined => {
  if (value === undefined) return undefined;
  const ms = parseTimestamp(value);
  if (ms === undefined) problems.push(`${name} must be an RFC 3339 date-time, such as 2026-01-15T10:30:00Z; got "${value}".`);
  return ms;
};

/** The canonical IANA name of a time zone (`europe/berlin` → `Europe/Berlin`), or undefined when it is unknown. */
export const canonicalTimeZone = (raw: string): string | undefined => {
  if (!TIME_ZONE.test(raw)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: raw }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
};

/** A meter query as sent, in any of OpenMeter's forms (query string, v1 JSON body, v3 JSON body), before it is checked. */
export interface RawMeterQuery {
  from?: string | undefined;
  to?: string | undefined;
  windowSize?: string | undefined;
  windowTimeZone?: string | undefined;
  subjects: string[];
  groupBy: string[];
  filterGroupBy: [key: string, values: string[]][];
  /** Problems found while reading the form. */
  problems: string[];
}

/**
 * Checks a query against the meter; one 400 lists every problem. As in OpenMeter, `subject`
 * both filters and groups by subject, `from` is inclusive and `to` exclusive, and `from` must
 * be before `to`.
 */
export const checkMeterQuery = (meter: Meter, raw: RawMeterQuery): MeterQuery => {
  const problems = [...raw.problems];
  const from = timeParam('from', raw.from, problems);
  const to = timeParam('to', raw.to, problems);
  if (from !== undefined && to !== undefined && from >= to) problems.push(from === to ? 'from and to cannot be equal.' : 'from must be before to.');

  let windowSize: WindowSize | undefined;
  if (raw.windowSize !== undefined) {
    if ((WINDOW_SIZES as readonly string[]).includes(raw.windowSize)) windowSize = raw.windowSize as WindowSize;
    else problems.push(`windowSize must be one of ${WINDOW_SIZES.join(', ')}; got "${raw.windowSize}".`);
  }

  const rawZone = raw.windowTimeZone ?? 'UTC';
  const windowTimeZone = canonicalTimeZone(rawZone);
  if (windowTimeZone === undefined) problems.push(`windowTimeZone must be an IANA time zone, such as Europe/London; got "${rawZone}".`);

  for (const s of raw.subjects) if (!isValidSubject(s)) problems.push(`subject "${s}" must match [A-Za-z0-9._:-]{1,128}.`);

  const groupBy: string[] = [];
  for (const key of raw.groupBy) {
    if (key !== 'subject' && !Object.hasOwn(meter.groupBy, key)) problems.push(`groupBy "${key}" is not a group-by key of meter ${meter.slug}.`);
    else if (!groupBy.includes(key)) groupBy.push(key);
  }
  if (raw.subjects.length > 0 && !groupBy.includes('subject')) groupBy.push('subject');

  const filterGroupBy: Record<string, string[]> = {};
  for (const [key, values] of raw.filterGroupBy) {
    if (!Object.hasOwn(meter.groupBy, key)) problems.push(`filterGroupBy[${key}] is not a group-by key of meter ${meter.slug}.`);
    else if (Object.hasOwn(filterGroupBy, key)) problems.push(`filterGroupBy[${key}] may be given once.`);
    else if (values.length === 0) problems.push(`filterGroupBy[${key}] needs at least one value.`);
    else filterGroupBy[key] = values;
  }

  if (problems.length > 0) throw new TollgateError('BAD_REQUEST', problems.join(' '), { invalidParameters: problems });
  return {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(windowSize ? { windowSize } : {}),
    windowTimeZone: windowTimeZone ?? 'UTC',
    subjects: [...new Set(raw.subjects)],
    groupBy,
    filterGroupBy,
  };
};

/** The query parameters of OpenMeter's `GET /api/v1/meters/{meter}/query`. */
export const readQueryParams = (params: URLSearchParams): RawMeterQuery => {
  const problems: string[] = [];
  const once = (name: string): string | undefined => {
    const values = params.getAll(name);
    if (values.length > 1) problems.push(`${name} may be given once.`);
    return values[0];
  };
  for (const name of new Set(params.keys())) {
    if (UNSUPPORTED.some((p) => p.test(name))) problems.push(`${name} is not supported; use filterGroupBy[key]=value and subject.`);
  }
  if (once('clientId') === '') problems.push('clientId cannot be empty.');
  const filterGroupBy: [string, string[]][] = [];
  for (const [name, value] of params) {
    const key = FILTER_GROUP_BY.exec(name)?.[1];
    if (key !== undefined) filterGroupBy.push([key, [value]]);
  }
  return {
    from: once('from'),
    to: once('to'),
    windowSize: once('windowSize'),
    windowTimeZone: once('windowTimeZone'),
    subjects: params.getAll('subject'),
    groupBy: params.getAll('groupBy'),
    filterGroupBy,
    problems,
  };
};

export const parseMeterQuery = (meter: Meter, params: URLSearchParams): MeterQuery => checkMeterQuery(meter, readQueryParams(params));
