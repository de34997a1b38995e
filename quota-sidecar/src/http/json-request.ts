import { TollgateError } from '@tollgate/core';
import { readJsonBody } from '@tollgate/core/http';

export const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;

/** Reads a JSON request body: 415 unless it is declared `application/json`, then 413/400 as readJsonBody. */
export const readJsonRequest = async (request: Request, limitBytes: number): Promise<unknown> => {
  const type = request.headers.get('content-type') ?? '';
  if (!JSON_MEDIA_TYPE.test(type)) {
    throw new TollgateError('UNSUPPORTED_MEDIA_TYPE', 'The body must be sent as application/json.');
  }
  return readJsonBody(request, limitBytes);
};

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
