import { TollgateError } from '@tollgate/core';
import type { EventListFilter } from '@tollgate/core/meters';
import { timeParam } from './query-params.ts';

/** OpenMeter's bounds of the list: from at most 32 days ago, at most 100 events (also the default). */
export const MAX_LIST_AGE_MS = 32 * 24 * 60 * 60 * 1000;
export const MAX_LIST_LIMIT = 100;
const PARAMETERS = new Set(['clientId', 'ingestedAtFrom', 'ingestedAtTo', 'id', 'subject', 'from', 'to', 'limit']);
const TIMES = ['from', 'to', 'ingestedAtFrom', 'ingestedAtTo'] as const;
const LIMIT = /^[0-9]{1,4}$/;

/**
 * The query of OpenMeter's `GET /api/v1/events`, checked as OpenMeter checks it: `from` (event
 * time) defaults to 32 days ago and may not be older, times are RFC 3339 and inclusive, `limit`
 * is 1 to 100. A parameter it does not know, or `customerId` (Tollgate has no customers), is
 * refused rather than ignored: an ignored filter would list events that were not asked for.
 */
export const readEventListParams = (params: URLSearchParams, nowMs: number): EventListFilter => {
  const problems: string[] = [];
  for (const name of new Set(params.keys())) {
    if (name === 'customerId') problems.push('customerId is not supported: Tollgate has no customers; filter by subject.');
    else if (!PARAMETERS.has(name)) problems.push(`${name} is not a parameter of this list.`);
    else if (params.getAll(name).length > 1) problems.push(`${name} may be given once.`);
  }
  const clientId = params.get('clientId');
  if (clientId !== null && (clientId.length < 1 || clientId.length > 36)) problems.push('clientId must be 1 to 36 characters.');

  const times: Partial<Record<(typeof TIMES)[number], number>> = {};
  for (const name of TIMES) {
    const ms = timeParam(name, params.get(name) ?? undefined, problems);
    if (ms !== undefined) times[name] = ms;
  }
  const rawLimit = params.get('limit');
  const limit = rawLimit === null ? MAX_LIST_LIMIT : LIMIT.test(rawLimit) ? Number(rawLimit) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIST_LIMIT)) problems.push(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}; got "${rawLimit ?? ''}".`);

  const oldest = nowMs - MAX_LIST_AGE_MS;
  for (const name of ['from', 'ingestedAtFrom'] as const) {
    const ms = times[name];
    if (ms !== undefined && ms < oldest) problems.push(`${name} must be at most 32 days ago (after ${new Date(oldest).toISOString()}).`);
  }
  const from = times.from ?? oldest;
  if (times.to !== undefined && times.to < from) problems.push('to must not be before from.');
  if (times.ingestedAtFrom !== undefined && times.ingestedAtTo !== undefined && times.ingestedAtTo < times.ingestedAtFrom) {
    problems.push('ingestedAtTo must not be before ingestedAtFrom.');
  }
  if (problems.length > 0) throw new TollgateError('BAD_REQUEST', problems.join(' '), { invalidParameters: problems });
  return {
    from,
    to: times.to,
    ingestedAtFrom: times.ingestedAtFrom,
    ingestedAtTo: times.ingestedAtTo,
    id: params.get('id') ?? undefined,
    subject: params.get('subject') ?? undefined,
    limit,
  };
};
