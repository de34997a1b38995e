import type { MeterAnswer } from '@tollgate/core/meters';
import { isObject } from '../http/json-request.ts';
import type { RawMeterQuery } from './query-params.ts';

const strings = (value: unknown, name: string, problems: string[]): string[] => {
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  problems.push(`${name} must be a list of strings.`);
  return [];
};
const text = (value: unknown, name: string, problems: string[]): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  problems.push(`${name} must be a string.`);
  return undefined;
};
const unknownFields = (body: Record<string, unknown>, known: readonly string[], problems: string[], hint: string) => {
  for (const key of Object.keys(body)) if (!known.includes(key)) problems.push(`${key} is not supported${hint}.`);
};

/** The JSON body of OpenMeter's `POST /api/v1/meters/{meter}/query` (MeterQueryRequest): the GET parameters as JSON. */
export const readV1QueryBody = (body: unknown): RawMeterQuery => {
  const problems: string[] = [];
  if (!isObject(body)) return { subjects: [], groupBy: [], filterGroupBy: [], problems: ['The body must be a JSON object (a MeterQueryRequest).'] };
  unknownFields(body, ['clientId', 'from', 'to', 'windowSize', 'windowTimeZone', 'subject', 'groupBy', 'filterGroupBy'], problems, '; use filterGroupBy and subject');
  const filterGroupBy: [string, string[]][] = [];
  if (body.filterGroupBy !== undefined && !isObject(body.filterGroupBy)) problems.push('filterGroupBy must be an object of lists of values.');
  for (const [key, values] of Object.entries(isObject(body.filterGroupBy) ? body.filterGroupBy : {})) {
    filterGroupBy.push([key, strings(values, `filterGroupBy.${key}`, problems)]);
  }
  return {
    from: text(body.from, 'from', problems),
    to: text(body.to, 'to', problems),
    windowSize: text(body.windowSize, 'windowSize', problems),
    windowTimeZone: text(body.windowTimeZone, 'windowTimeZone', problems),
    subjects: strings(body.subject, 'subject', problems),
    groupBy: strings(body.groupBy, 'groupBy', problems),
    filterGroupBy,
    problems,
  };
};

/** ISO 8601 granularities of the v3 API and the window sizes they name. */
const GRANULARITY: Record<string, string> = { PT1M: 'MINUTE', PT1H: 'HOUR', P1D: 'DAY', P1M: 'MONTH' };

/**
 * The JSON body of OpenMeter's v3 `POST /api/v3/openmeter/meters/{meterId}/query`: `granularity`,
 * `time_zone`, `group_by_dimensions` and `filters.dimensions` (`eq` or `in` only, as OpenMeter),
 * where `subject` is a reserved dimension.
 */
export const readV3QueryBody = (body: unknown): RawMeterQuery => {
  const problems: string[] = [];
  if (!isObject(body)) return { subjects: [], groupBy: [], filterGroupBy: [], problems: ['The body must be a JSON object (a MeterQueryRequest).'] };
  unknownFields(body, ['from', 'to', 'granularity', 'time_zone', 'group_by_dimensions', 'filters'], problems, '');
  const granularity = text(body.granularity, 'granularity', problems);
  if (granularity !== undefined && !Object.hasOwn(GRANULARITY, granularity)) problems.push(`granularity must be one of ${Object.keys(GRANULARITY).join(', ')}; got "${granularity}".`);
  let subjects: string[] = [];
  const filterGroupBy: [string, string[]][] = [];
  const filters = body.filters;
  if (filters !== undefined && !(isObject(filters) && (filters.dimensions === undefined || isObject(filters.dimensions)))) problems.push('filters must be {"dimensions": {...}}.');
  const dimensions = isObject(filters) && isObject(filters.dimensions) ? filters.dimensions : {};
  for (const [key, filter] of Object.entries(dimensions)) {
    const ops = isObject(filter) ? Object.keys(filter) : [];
    if (!isObject(filter) || ops.length !== 1 || !(ops[0] === 'eq' || ops[0] === 'in')) {
      problems.push(`filters.dimensions.${key} must have exactly one of eq or in (the only operators supported).`);
      continue;
    }
    const values = filter.eq !== undefined ? [text(filter.eq, `filters.dimensions.${key}.eq`, problems) ?? ''] : strings(filter.in, `filters.dimensions.${key}.in`, problems);
    if (key === 'subject') subjects = values;
    else filterGroupBy.push([key, values]);
  }
  return {
    from: text(body.from, 'from', problems),
    to: text(body.to, 'to', problems),
    windowSize: granularity !== undefined ? GRANULARITY[granularity] : undefined,
    windowTimeZone: text(body.time_zone, 'time_zone', problems),
    subjects,
    groupBy: strings(body.group_by_dimensions, 'group_by_dimensions', problems),
    filterGroupBy,
    problems,
  };
};

/** A v3 answer: rows with `from`, `to`, the value as a decimal string, and `dimensions` (subject included when grouped by it). */
export const v3Answer = (answer: MeterAnswer) => ({
  ...(answer.from !== undefined ? { from: answer.from } : {}),
  to: answer.to,
  data: answer.data.map((row) => ({
    value: String(row.value),
    from: row.windowStart,
    to: row.windowEnd,
    dimensions: {
      ...(row.subject !== null ? { subject: row.subject } : {}),
      ...Object.fromEntries(Object.entries(row.groupBy).map(([k, v]) => [k, v ?? ''])),
    },
  })),
});
