import type { CloudEventV1 } from 'cloudevents';
import { TollgateError } from '@tollgate/core';
import { readJsonBody } from '@tollgate/core/http';
import { validateEvent, type EventChecks } from '@tollgate/core/events';
import { isObject } from '../http/json-request.ts';

/** The bodies OpenMeter's ingest takes: one event, a batch, or either as plain JSON. */
const FORMS = [
  { type: /^application\/cloudevents\+json\s*(;|$)/i, form: 'single' },
  { type: /^application\/cloudevents-batch\+json\s*(;|$)/i, form: 'batch' },
  { type: /^application\/json\s*(;|$)/i, form: 'either' },
] as const;

/**
 * Deep enough that an event nested past MAX_DATA_DEPTH is named in the answer by validateEvent
 * (which walks without recursion), yet bounded, so that parsing stays cheap.
 */
const INGEST_MAX_JSON_DEPTH = 10_000;

/** Invalid events named in a 400 answer, at most. */
const MAX_REPORTED = 100;

export interface InvalidEvent {
  index: number;
  /** The event's id, when it has one to name it by. */
  id?: string;
  reason: string;
}

/** The events of an ingest request, in order: 415 for another content type, 413 over the limit, 400 for malformed JSON or the wrong shape. */
export const readIngestBody = async (request: Request, limitBytes: number): Promise<unknown[]> => {
  const type = request.headers.get('content-type') ?? '';
  const form = FORMS.find((f) => f.type.test(type))?.form;
  if (!form) {
    throw new TollgateError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Events must be sent as application/cloudevents+json (one event), application/cloudevents-batch+json (an array) or application/json (either).',
    );
  }
  const body = await readJsonBody(request, limitBytes, { maxDepth: INGEST_MAX_JSON_DEPTH });
  if (Array.isArray(body)) {
    if (form === 'single') throw new TollgateError('BAD_REQUEST', 'An application/cloudevents+json body is one event (a JSON object); send a batch as application/cloudevents-batch+json.');
    return body;
  }
  if (form === 'batch') throw new TollgateError('BAD_REQUEST', 'An application/cloudevents-batch+json body is a JSON array of events.');
  return [body];
};

export type IngestValidation = { ok: true; events: CloudEventV1<unknown>[] } | { ok: false; invalid: InvalidEvent[] };

export interface IngestChecks extends Pick<EventChecks, 'window' | 'maxCost'> {
  /** The arrival time: a missing time, and the acceptance window's reference. */
  nowMs: number;
  /** Prices an api.call in the source format (see createIngestPricer); others pass unchanged. */
  price: (value: unknown) => unknown;
}

/**
 * Checks every event before any is accepted, so a request is taken whole or not at all.
 * A missing (or, as CloudEvents allows for optional attributes, null) `time` becomes `nowMs`;
 * an api.call without Tollgate's cost and decision is priced; otherwise each event is passed
 * on exactly as it was sent.
 */
export const validateIngest = (values: unknown[], { nowMs, window, maxCost, price }: IngestChecks): IngestValidation => {
  const events: CloudEventV1<unknown>[] = [];
  const invalid: InvalidEvent[] = [];
  values.forEach((value, index) => {
    const candidate = price(isObject(value) && value.time === null ? { ...value, time: undefined } : value);
    const result = validateEvent(candidate, { defaultTimeMs: nowMs, arrivalMs: nowMs, window, maxCost });
    if (!result.ok) {
      const id = isObject(value) && typeof value.id === 'string' && value.id !== '' ? value.id.slice(0, 256) : undefined;
      invalid.push({ index, ...(id !== undefined ? { id } : {}), reason: result.reason });
      return;
    }
    if (!isObject(candidate)) return;
    const { event } = result;
    events.push({
      ...candidate,
      specversion: '1.0',
      id: event.id,
      source: event.source,
      type: event.type,
      subject: event.subject,
      time: typeof candidate.time === 'string' ? candidate.time : new Date(event.timeMs).toISOString(),
    });
  });
  return invalid.length > 0 ? { ok: false, invalid } : { ok: true, events };
};

/** The 400 for a request with invalid events: the first in the detail, the first 100 in `invalidEvents`. */
export const invalidEventsError = (invalid: InvalidEvent[], total: number): TollgateError => {
  const [first] = invalid;
  const named = first?.id === undefined ? '' : ` (id ${JSON.stringify(first.id)})`;
  const where = first ? `Event ${first.index}${named} is invalid: ${first.reason}.` : 'The events are invalid.';
  return new TollgateError('BAD_REQUEST', `${where} ${invalid.length} of ${total} events are invalid; none of this request was accepted.`, {
    invalidEvents: invalid.slice(0, MAX_REPORTED),
  });
};
