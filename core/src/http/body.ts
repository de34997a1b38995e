import { TollgateError } from '../errors.ts';

const tooLarge = (limitBytes: number) => new TollgateError('PAYLOAD_TOO_LARGE', `The body exceeds the limit of ${limitBytes} bytes.`);

/** JSON.parse with a 400 problem for what is not JSON. */
export const parseJsonBody = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    throw new TollgateError('BAD_REQUEST', 'The body is not valid JSON.');
  }
};

/**
 * Reads a JSON request body of at most `limitBytes`, rejecting oversize and malformed bodies
 * with 413/400. A body with a declared length within the limit is read in one go (the cheap
 * path on Node's HTTP server); a body without one is counted as it streams and cut off at
 * the limit, so an undeclared body can never make the server buffer more than the limit.
 */
export const readJsonBody = async (request: Request, limitBytes: number): Promise<unknown> => {
  const header = request.headers.get('content-length');
  if (header !== null && /^\d+$/.test(header)) {
    if (Number(header) > limitBytes) throw tooLarge(limitBytes);
    return parseJsonBody(await request.text());
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > limitBytes) throw tooLarge(limitBytes);
      chunks.push(chunk);
    }
  }
  return parseJsonBody(Buffer.concat(chunks).toString('utf8'));
};
