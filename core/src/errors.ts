/** The closed set of errors Tollgate answers with, each with its HTTP status and whether a retry may help. */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, title: 'Bad request', retryable: false },
  UNAUTHORIZED: { status: 401, title: 'Unauthorized', retryable: false },
  NOT_FOUND: { status: 404, title: 'Not found', retryable: false },
  CONFLICT: { status: 409, title: 'Conflict', retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large', retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type', retryable: false },
  INSUFFICIENT_CREDITS: { status: 429, title: 'Insufficient credits', retryable: true },
  INTERNAL: { status: 500, title: 'Internal error', retryable: true },
  UPSTREAM_ERROR: { status: 502, title: 'Bad gateway', retryable: true },
  STORE_UNAVAILABLE: { status: 503, title: 'Credit store unavailable', retryable: true },
  DEPENDENCY_UNAVAILABLE: { status: 503, title: 'Service unavailable', retryable: true },
  UPSTREAM_TIMEOUT: { status: 504, title: 'Gateway timeout', retryable: true },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class TollgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  /** Extension members for the problem document (RFC 9457 §3.2). */
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, detail: string, extensions: Record<string, unknown> = {}) {
    super(detail);
    this.name = 'TollgateError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryable = ERROR_CODES[code].retryable;
    this.extensions = extensions;
  }
}
