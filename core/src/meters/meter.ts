import { ConfigError } from '../config/env.ts';

export const AGGREGATIONS = ['COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'UNIQUE_COUNT', 'LATEST'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

export const WINDOW_SIZES = ['MINUTE', 'HOUR', 'DAY', 'MONTH'] as const;
export type WindowSize = (typeof WINDOW_SIZES)[number];

/** A JSONPath into the event's `data`, as a list of keys: `$.a.b` (or `$.data.a.b`) → ['a', 'b']. */
export type DataPath = string[];

export interface Meter {
  slug: string;
  description: string;
  eventType: string;
  aggregation: Aggregation;
  /** In OpenMeter's form, relative to `data` (`$.tokens`), whichever form it was defined in. */
  valueProperty?: string;
  valuePath?: DataPath;
  /** Group-by keys (subject excluded) and their paths, in config order. */
  groupBy: Record<string, string>;
  groupByPaths: Record<string, DataPath>;
  /** Whether `groupBy.subject: true` was set (the subject is always queryable). */
  groupBySubject: boolean;
  /** Epoch milliseconds: events before it are not in the meter (OpenMeter's `eventFrom`, meters created over the API). */
  eventFrom?: number;
}

const SLUG = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const KEY = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const PATH = /^\$(\.[A-Za-z0-9_-]+)+$/;
const PATH_FORMS = 'a path like $.field (into the event data, as OpenMeter) or $.data.field';

/**
 * The keys of a meter path. OpenMeter's paths point into the event's `data` (`$.tokens`); our
 * users' documents point into the event (`$.data.tokens`), and both are read as the same path.
 * So a path into a data field that is itself named `data` is written `$.data.data.field`.
 */
export const parseDataPath = (path: string): DataPath => {
  const keys = path.split('.').slice(1);
  return keys[0] === 'data' && keys.length > 1 ? keys.slice(1) : keys;
};

/** A path in OpenMeter's form: how meters are shown. */
export const dataPathText = (path: DataPath): string => `$.${path.join('.')}`;

/** Whether a path is one of the accepted forms. */
export const isMeterPath = (path: unknown): path is string => typeof path === 'string' && PATH.test(path);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks one meter definition (`at` names it in problems), pushing every problem found onto
 * `problems`; the meter it returns is only meaningful when none was pushed.
 */
export const readMeter = (m: unknown, at: string, problems: string[]): Meter => {
  if (!isObj(m)) {
    problems.push(`${at} must be a mapping`);
    return { slug: '', description: '', eventType: '', aggregation: 'COUNT', groupBy: {}, groupByPaths: {}, groupBySubject: false };
  }
  const slug = typeof m.slug === 'string' ? m.slug : '';
  if (!SLUG.test(slug)) problems.push(`${at}.slug must match ${SLUG.source}`);
  if (typeof m.eventType !== 'string' || m.eventType === '') problems.push(`${at}.eventType is required`);
  const aggregation = m.aggregation;
  if (typeof aggregation !== 'string' || !(AGGREGATIONS as readonly string[]).includes(aggregation)) {
    problems.push(`${at}.aggregation must be one of ${AGGREGATIONS.join(', ')}`);
  }
  const valueProperty = m.valueProperty;
  if (valueProperty !== undefined && !isMeterPath(valueProperty)) problems.push(`${at}.valueProperty must be ${PATH_FORMS}`);
  if (aggregation !== 'COUNT' && valueProperty === undefined) problems.push(`${at}.valueProperty is required for ${String(aggregation)}`);
  const groupBy: Record<string, string> = {};
  let groupBySubject = false;
  if (m.groupBy !== undefined && !isObj(m.groupBy)) problems.push(`${at}.groupBy must be a mapping`);
  for (const [key, path] of Object.entries(isObj(m.groupBy) ? m.groupBy : {})) {
    if (key === 'subject') {
      if (path !== true) problems.push(`${at}.groupBy.subject must be true (the subject is not a data path)`);
      groupBySubject = path === true;
      continue;
    }
    if (!KEY.test(key)) problems.push(`${at}.groupBy key "${key}" must match ${KEY.source}`);
    if (!isMeterPath(path)) problems.push(`${at}.groupBy.${key} must be ${PATH_FORMS}`);
    else groupBy[key] = dataPathText(parseDataPath(path));
  }
  return {
    slug,
    description: typeof m.description === 'string' ? m.description : '',
    eventType: String(m.eventType ?? ''),
    aggregation: aggregation as Aggregation,
    ...(isMeterPath(valueProperty) ? { valueProperty: dataPathText(parseDataPath(valueProperty)), valuePath: parseDataPath(valueProperty) } : {}),
    groupBy,
    groupByPaths: Object.fromEntries(Object.entries(groupBy).map(([k, p]) => [k, parseDataPath(p)])),
    groupBySubject,
  };
};

/** Validates the `meters:` list of the configuration, collecting every problem. */
export const parseMeters = (raw: unknown[], where = 'meters'): Meter[] => {
  const problems: string[] = [];
  const slugs = new Set<string>();
  const meters = raw.map((m, i) => {
    const meter = readMeter(m, `${where}[${i}]`, problems);
    if (SLUG.test(meter.slug) && slugs.has(meter.slug)) problems.push(`${where}[${i}].slug "${meter.slug}" is defined twice`);
    slugs.add(meter.slug);
    return meter;
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return meters;
};
