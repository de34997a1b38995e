import { isValidSubject, TollgateError, WINDOW_SIZES, type Meter, type MeterQuery, type WindowSize } from '@tollgate/core';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const TIME_ZONE = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;
const FILTER_GROUP_BY = /^filterGroupBy\[(.*)\]$/;
/** OpenMeter parameters this API does not implement: refused, never ignored, since ignoring a filter answers wrongly. */
const UNSUPPORTED = [/^advancedMeterGroupByFilters/, /^filterCustomerId$/];

/** Epoch milliseconds of an RFC 3339 timestamp, or undefined. A `+` sent unencoded arrives as a space and is taken back. */
export const parseTimestamp = (raw: string): number | undefined => {
  const m = RFC3339.exec(raw.replace(/ (\d{2}:\d{2})$/, '+$1'));
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.parse(m[0]);
  return Number.isNaN(ms) ? undefined : ms;
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

/**
 * The query parameters of OpenMeter's `GET /api/v1/meters/{meter}/query`, checked against the
 * meter; one 400 lists every problem. As in OpenMeter, `subject` both filters and groups by
 * subject, `from` is inclusive and `to` exclusive, and `from` must be before `to`.
 */
export const parseMeterQuery = (meter: Meter, params: URLSearchParams): MeterQuery => {
  const problems: string[] = [];
  const once = (name: string): string | undefined => {
    const values = params.getAll(name);
    if (values.length > 1) problems.push(`${name} may be given once.`);
    return values[0];
  };
  const time = (name: string): number | undefined => {
    const raw = once(name);
    if (raw === undefined) return undefined;
    const ms = parseTimestamp(raw);
    if (ms === undefined) problems.push(`${name} must be an RFC 3339 date-time, such as 2026-01-15T10:30:00Z; got "${raw}".`);
    return ms;
  };

  for (const name of new Set(params.keys())) {
    if (UNSUPPORTED.some((p) => p.test(name))) problems.push(`${name} is not supported; use filterGroupBy[key]=value and subject.`);
  }
  const clientId = once('clientId');
  if (clientId === '') problems.push('clientId cannot be empty.');

  const from = time('from');
  const to = time('to');
  if (from !== undefined && to !== undefined && from >= to) problems.push(from === to ? 'from and to cannot be equal.' : 'from must be before to.');

  let windowSize: WindowSize | undefined;
  const rawWindow = once('windowSize');
  if (rawWindow !== undefined) {
    if ((WINDOW_SIZES as readonly string[]).includes(rawWindow)) windowSize = rawWindow as WindowSize;
    else problems.push(`windowSize must be one of ${WINDOW_SIZES.join(', ')}; got "${rawWindow}".`);
  }

  const rawZone = once('windowTimeZone') ?? 'UTC';
  const windowTimeZone = canonicalTimeZone(rawZone);
  if (windowTimeZone === undefined) problems.push(`windowTimeZone must be an IANA time zone, such as Europe/London; got "${rawZone}".`);

  const subjects = params.getAll('subject');
  for (const s of subjects) if (!isValidSubject(s)) problems.push(`subject "${s}" must match [A-Za-z0-9._:-]{1,128}.`);

  const groupBy: string[] = [];
  for (const key of params.getAll('groupBy')) {
    if (key !== 'subject' && !Object.hasOwn(meter.groupBy, key)) problems.push(`groupBy "${key}" is not a group-by key of meter ${meter.slug}.`);
    else if (!groupBy.includes(key)) groupBy.push(key);
  }
  if (subjects.length > 0 && !groupBy.includes('subject')) groupBy.push('subject');

  const filterGroupBy: Record<string, string> = {};
  for (const [name, value] of params) {
    const key = FILTER_GROUP_BY.exec(name)?.[1];
    if (key === undefined) continue;
    if (!Object.hasOwn(meter.groupBy, key)) problems.push(`filterGroupBy[${key}] is not a group-by key of meter ${meter.slug}.`);
    else if (Object.hasOwn(filterGroupBy, key)) problems.push(`filterGroupBy[${key}] may be given once.`);
    else filterGroupBy[key] = value;
  }

  if (problems.length > 0) throw new TollgateError('BAD_REQUEST', problems.join(' '), { invalidParameters: problems });
  return {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(windowSize ? { windowSize } : {}),
    windowTimeZone: windowTimeZone ?? 'UTC',
    subjects: [...new Set(subjects)],
    groupBy,
    filterGroupBy,
  };
};
