import { isValidSubject, TollgateError } from '@tollgate/core';
import type { SubjectUpsert } from '@tollgate/core/meters';
import { isObject } from '../http/json-request.ts';

const MAX_DISPLAY_NAME = 256;
const MAX_METADATA_BYTES = 16 * 1024;
const FIELDS = new Set(['key', 'displayName', 'metadata']);
/** Fields of OpenMeter's SubjectUpsert that it deprecated and Tollgate does not keep: refused when set, never dropped silently. */
const DEPRECATED = new Set(['stripeCustomerId', 'currentPeriodStart', 'currentPeriodEnd']);

/**
 * The body of OpenMeter's `POST /api/v1/subjects`: an array of SubjectUpsert. A field left out is
 * left as it is and null clears it. One invalid entry refuses the whole request, with every
 * problem named by the entry's index.
 */
export const readSubjectUpserts = (body: unknown): SubjectUpsert[] => {
  if (!Array.isArray(body)) throw new TollgateError('BAD_REQUEST', 'The body must be a JSON array of subjects ({key, displayName, metadata}).');
  const problems: string[] = [];
  const upserts = body.map((entry: unknown, i): SubjectUpsert => {
    const at = `[${i}]`;
    if (!isObject(entry)) {
      problems.push(`${at} must be a JSON object.`);
      return { key: '' };
    }
    const { key, displayName, metadata } = entry;
    if (!isValidSubject(key)) problems.push(`${at}.key must be 1–128 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-".`);
    if (displayName !== undefined && displayName !== null && (typeof displayName !== 'string' || [...displayName].length > MAX_DISPLAY_NAME)) {
      problems.push(`${at}.displayName must be a string of at most ${MAX_DISPLAY_NAME} characters, or null.`);
    }
    if (metadata !== undefined && metadata !== null && !isObject(metadata)) problems.push(`${at}.metadata must be a JSON object or null.`);
    else if (isObject(metadata) && Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) problems.push(`${at}.metadata must be at most ${MAX_METADATA_BYTES} bytes as JSON.`);
    for (const [field, value] of Object.entries(entry)) {
      if (FIELDS.has(field)) continue;
      if (!DEPRECATED.has(field)) problems.push(`${at}.${field} is not a field of a subject.`);
      else if (value !== null) problems.push(`${at}.${field} is not supported (OpenMeter deprecated it); keep it in metadata.`);
    }
    return {
      key: typeof key === 'string' ? key : '',
      ...(displayName === undefined ? {} : { displayName: displayName as string | null }),
      ...(metadata === undefined ? {} : { metadata: metadata as Record<string, unknown> | null }),
    };
  });
  if (problems.length > 0) throw new TollgateError('BAD_REQUEST', problems.join(' '), { invalidParameters: problems });
  return upserts;
};
