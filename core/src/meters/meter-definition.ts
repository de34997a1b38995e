import { parseRfc3339 } from '../events/event-time.ts';
import { readMeter, type Meter } from './meter.ts';

/**
 * A meter created over the API, as OpenMeter's `MeterCreate`: the meter itself, and what only
 * the API shows (a display name, string metadata). Stored in ClickHouse as `definitionText`.
 */
export interface MeterDefinition {
  meter: Meter;
  name: string;
  metadata: Record<string, string> | null;
}

const FIELDS = new Set(['slug', 'name', 'description', 'eventType', 'aggregation', 'valueProperty', 'groupBy', 'eventFrom', 'metadata']);
const MAX_NAME = 256;
const MAX_DESCRIPTION = 1024;
const MAX_METADATA_KEYS = 64;
const MAX_METADATA_TEXT = 1024;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const length = (s: string) => [...s].length;

/**
 * Checks a `MeterCreate` body with the rules of configured meters (either path form), plus
 * OpenMeter's name, description, eventFrom and metadata. Fields it does not know are refused,
 * never ignored: an ignored field would make the meter count something else than was asked.
 * Returns the definition, or every problem found, each naming its field under `at`.
 */
export const readMeterDefinition = (raw: unknown, at = 'meter'): { definition: MeterDefinition } | { problems: string[] } => {
  if (!isObj(raw)) return { problems: [`${at} must be a JSON object`] };
  const problems: string[] = [];
  const { name, description, eventFrom, metadata, groupBy, ...rest } = raw;
  // The subject is not a group-by path in OpenMeter: `subject: true` is a configuration form only.
  const meter = readMeter({ ...rest, description, ...(groupBy === undefined ? {} : { groupBy }) }, at, problems);
  if (isObj(groupBy) && Object.hasOwn(groupBy, 'subject')) problems.push(`${at}.groupBy.subject is reserved: every query may group by subject`);
  for (const key of Object.keys(raw)) if (!FIELDS.has(key)) problems.push(`${at}.${key} is not a field of a meter`);
  if (name !== undefined && (typeof name !== 'string' || length(name) < 1 || length(name) > MAX_NAME)) problems.push(`${at}.name must be a string of 1 to ${MAX_NAME} characters`);
  if (description !== undefined && (typeof description !== 'string' || length(description) > MAX_DESCRIPTION)) {
    problems.push(`${at}.description must be a string of at most ${MAX_DESCRIPTION} characters`);
  }
  let from: number | undefined;
  if (eventFrom !== undefined) {
    from = typeof eventFrom === 'string' ? parseRfc3339(eventFrom) : undefined;
    if (from === undefined) problems.push(`${at}.eventFrom must be an RFC 3339 date-time`);
  }
  const meta = metadata === undefined || metadata === null ? null : metadata;
  if (meta !== null) {
    const entries = isObj(meta) ? Object.entries(meta) : [];
    if (!isObj(meta) || entries.length > MAX_METADATA_KEYS || entries.some(([k, v]) => typeof v !== 'string' || length(k) > MAX_METADATA_TEXT || length(v) > MAX_METADATA_TEXT)) {
      problems.push(`${at}.metadata must map at most ${MAX_METADATA_KEYS} keys to strings of at most ${MAX_METADATA_TEXT} characters`);
    }
  }
  if (problems.length > 0) return { problems };
  return {
    definition: {
      meter: { ...meter, ...(from === undefined ? {} : { eventFrom: from }) },
      name: typeof name === 'string' ? name : meter.slug,
      metadata: meta as Record<string, string> | null,
    },
  };
};

/**
 * The definition as stored: a MeterCreate in OpenMeter's path form, which `readMeterDefinition`
 * reads back into the same definition.
 */
export const definitionText = ({ meter, name, metadata }: MeterDefinition): string =>
  JSON.stringify({
    slug: meter.slug,
    name,
    ...(meter.description ? { description: meter.description } : {}),
    eventType: meter.eventType,
    aggregation: meter.aggregation,
    ...(meter.valueProperty ? { valueProperty: meter.valueProperty } : {}),
    groupBy: meter.groupBy,
    ...(meter.eventFrom === undefined ? {} : { eventFrom: new Date(meter.eventFrom).toISOString() }),
    metadata,
  });
