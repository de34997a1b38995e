import { ERROR_CODES, TollgateError, type ErrorCode } from '../errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  [extension: string]: unknown;
}

export const problemOf = (err: TollgateError): Problem => ({
  type: `https://tollgate.dev/problems/${err.code.toLowerCase().replaceAll('_', '-')}`,
  title: ERROR_CODES[err.code].title,
  status: err.status,
  detail: err.message,
  code: err.code,
  ...err.extensions,
});

/** The problem+json response for an error; anything that is not a TollgateError is a 500 that hides its message. */
export const problemResponse = (err: unknown, headers: Record<string, string> = {}): Response => {
  const known = err instanceof TollgateError ? err : new TollgateError('INTERNAL', 'An unexpected error occurred.');
  return new Response(JSON.stringify(problemOf(known)), {
    status: known.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers },
  });
};
