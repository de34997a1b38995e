import { TollgateError } from '../errors.ts';

/** Reads a JSON request body of at most `limitBytes`, rejecting oversize and malformed bodies with 413/400. */
export const readJsonBody = async (request: Request, limitBytes: number): Promise<unknown> => {
  const declared = Number(request.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > limitBytes) {
    throw new TollgateError('PAYLOAD_TOO_LARGE', `The body exceeds the limit of ${limitBytes} bytes.`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > limitBytes) throw new TollgateError('PAYLOAD_TOO_LARGE', `The body exceeds the limit of ${limitBytes} bytes.`);
      chunks.push(chunk);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new TollgateError('BAD_REQUEST', 'The body is not valid JSON.');
  }
};
