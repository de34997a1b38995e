import { Hono } from 'hono';
import { isValidSubject, TollgateError } from '@tollgate/core';
import type { ReplayRequest } from '../replay/replay.ts';
import type { Replays } from '../replay/replay-registry.ts';
import { isObject, readJsonRequest } from '../http/json-request.ts';
import { parseTimestamp } from '../openmeter/query-params.ts';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_SUBJECTS = 10_000;
const FIELDS = new Set(['from', 'to', 'subjects']);

/** `{from, to?, subjects?}`: RFC 3339 times, from before to, valid subjects; one 400 lists every problem. */
export const parseReplayRequest = (body: unknown): ReplayRequest => {
  if (!isObject(body)) throw new TollgateError('BAD_REQUEST', 'The body must be a JSON object {from, to?, subjects?}.');
  const problems: string[] = [];
  for (const key of Object.keys(body)) if (!FIELDS.has(key)) problems.push(`Unknown field ${key}.`);
  const time = (name: 'from' | 'to'): number | undefined => {
    const raw = body[name];
    if (raw === undefined) return undefined;
    const ms = typeof raw === 'string' ? parseTimestamp(raw) : undefined;
    if (ms === undefined) problems.push(`${name} must be an RFC 3339 date-time.`);
    return ms;
  };
  const from = time('from');
  const to = time('to');
  if (body.from === undefined) problems.push('from is required.');
  if (from !== undefined && to !== undefined && from >= to) problems.push('from must be before to.');
  let subjects: string[] | undefined;
  if (body.subjects !== undefined) {
    const raw = body.subjects;
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_SUBJECTS) {
      problems.push(`subjects must be a non-empty array of at most ${MAX_SUBJECTS} subjects.`);
    } else {
      const bad = raw.filter((s) => !isValidSubject(s));
      if (bad.length > 0) problems.push(`subjects must match [A-Za-z0-9._:-]{1,128}; ${bad.length} do not.`);
      else subjects = raw.filter((s): s is string => typeof s === 'string');
    }
  }
  if (problems.length > 0 || from === undefined) throw new TollgateError('BAD_REQUEST', problems.join(' '), { problems });
  return { from, to, subjects };
};

/**
 * `POST /admin/v1/replay {from, to?, subjects?}` → 202 with the replay's id and progress (409 while
 * another runs); `GET /admin/v1/replay/{id}` → its progress. Without Kafka, both answer 503:
 * a replay re-reads the events topic.
 */
export const adminReplayRoutes = ({ replays }: { replays: Replays | undefined }) => {
  const registry = () => {
    if (!replays) {
      throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'Replay re-reads the Kafka events topic; this sidecar runs without Kafka (set KAFKA_BROKERS).');
    }
    return replays;
  };
  return new Hono()
    .post('/admin/v1/replay', async (c) => {
      const registered = registry();
      const request = parseReplayRequest(await readJsonRequest(c.req.raw, MAX_BODY_BYTES));
      const progress = await registered.start(request);
      c.header('location', `/admin/v1/replay/${progress.id}`);
      return c.json(progress, 202);
    })
    .get('/admin/v1/replay/:id', async (c) => {
      const progress = await registry().get(c.req.param('id'));
      if (!progress) throw new TollgateError('NOT_FOUND', `There is no replay ${c.req.param('id')}.`);
      return c.json(progress);
    });
};
