import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parseJsonBody, readJsonBody } from './body.ts';

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

  it('refuses JSON nested deeper than the limit with 400, before anything recurses over it', async () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const arrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    // 9,000 levels in under 64 KB: JSON.parse takes it, JSON.stringify of the result overflows the stack.
    expect(nested(9_000).length).toBeLessThan(64 * 1024);
    for (const text of [nested(9_000), arrays(9_000), arrays(MAX_JSON_DEPTH + 1), `{"a":[${arrays(MAX_JSON_DEPTH)}]}`]) {
      expect(() => parseJsonBody(text)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: `The body nests deeper than ${MAX_JSON_DEPTH} levels.` }));
    }
    await expect(readJsonBody(new Request('http://x/', { method: 'POST', body: nested(9_000) }), 64 * 1024)).rejects.toMatchObject({ status: 400 });
    // At the limit, and brackets inside strings (escaped quotes included), are fine.
    expect(parseJsonBody(arrays(MAX_JSON_DEPTH))).toHaveLength(1);
    expect(parseJsonBody(JSON.stringify({ s: `\\"${'['.repeat(500)}`, t: '"{{{{' }))).toMatchObject({ t: '"{{{{' });
    expect(parseJsonBody(arrays(10), { maxDepth: 10 })).toHaveLength(1);
    expect(() => parseJsonBody(arrays(11), { maxDepth: 10 })).toThrow('The body nests deeper than 10 levels.');
  });
});
