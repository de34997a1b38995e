import { describe, expect, it } from 'vitest';
import { readJsonBody } from './body.ts';

const streamed = (text: string, chunk = 4) =>
  new Request('http://x/', {
    method: 'POST',
    body: new ReadableStream({
      start(controller) {
        for (let i = 0; i < text.length; i += chunk) controller.enqueue(new TextEncoder().encode(text.slice(i, i + chunk)));
        controller.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);

describe('readJsonBody', () => {
  it('reads a body with a declared length', async () => {
    const req = new Request('http://x/', { method: 'POST', body: '{"a":1}', headers: { 'content-length': '7' } });
    expect(await readJsonBody(req, 100)).toEqual({ a: 1 });
  });

  it('refuses a declared length over the limit with 413, before reading', async () => {
    const req = new Request('http://x/', { method: 'POST', body: '{"a":1}', headers: { 'content-length': '7000' } });
    await expect(readJsonBody(req, 100)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
  });

  it('counts an undeclared body as it streams and stops at the limit', async () => {
    expect(await readJsonBody(streamed('{"hello":"world"}'), 100)).toEqual({ hello: 'world' });
    await expect(readJsonBody(streamed(`{"a":"${'x'.repeat(200)}"}`), 100)).rejects.toMatchObject({ status: 413 });
  });

  it('answers 400 for malformed JSON', async () => {
    await expect(readJsonBody(new Request('http://x/', { method: 'POST', body: '{nope' }), 100)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
