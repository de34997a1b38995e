import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@tollgate/testkit/free-port';
import { waitFor } from '@tollgate/testkit/wait-for';
import { serveApp, type RunningServer } from '@tollgate/core/service';
import type { ClosableApp } from '../gateway-app.ts';
import { createUpstreamProxy } from './upstream-proxy.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A node:http upstream the test scripts; every request it saw is kept. */
const upstream = async (handler: Handler) => {
  const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
};

/** The gateway's proxy without tollgate, as one Hono handler. */
const proxyApp = (upstreamUrl: string, timeoutMs: number): ClosableApp => {
  const proxy = createUpstreamProxy({ upstreamUrl, timeoutMs });
  return Object.assign(new Hono().all('*', (c) => proxy.handler(c)), { close: proxy.close });
};

/** The proxy app on a real server. */
const proxyTo = async (upstreamUrl: string, timeoutMs = 5_000): Promise<{ app: ClosableApp; server: RunningServer }> => {
  const app = proxyApp(upstreamUrl, timeoutMs);
  const server = await serveApp(app);
  cleanups.push(async () => {
    await server.close(100);
    await app.close();
  });
  return { app, server };
};

/** node:http lets a test send fields that fetch and undici refuse to send (Connection lists, Keep-Alive, TE). */
const rawGet = (url: string, headers: Record<string, string>) =>
  new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });

const json = { 'content-type': 'application/json' };

describe('upstream proxy', () => {
  it('strips hop-by-hop fields both ways, including those the Connection header names', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, {
        connection: 'keep-alive, x-upstream-hop',
        'x-upstream-hop': 'secret',
        'keep-alive': 'timeout=42',
        'proxy-authenticate': 'Basic realm="up"',
        'x-end-to-end': 'kept',
        ...json,
      });
      res.end('{}');
    });
    const { server } = await proxyTo(up.url);
    const res = await rawGet(`${server.url}/accounts`, {
      connection: 'keep-alive, x-client-hop',
      'keep-alive': 'timeout=99',
      'x-client-hop': 'secret',
      'proxy-authorization': 'Basic eA==',
      te: 'trailers',
      'x-tpp-id': 'tpp-1',
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-end-to-end']).toBe('kept');
    expect(res.headers['x-upstream-hop']).toBeUndefined();
    expect(res.headers['proxy-authenticate']).toBeUndefined();
    expect(res.headers['keep-alive']).not.toBe('timeout=42');
    expect(res.headers.connection).not.toContain('x-upstream-hop');

    const sent = up.seen[0]?.headers ?? {};
    expect(sent['x-tpp-id']).toBe('tpp-1');
    expect(sent['x-client-hop']).toBeUndefined();
    expect(sent['proxy-authorization']).toBeUndefined();
    expect(sent.te).toBeUndefined();
    expect(sent['keep-alive']).toBeUndefined();
    expect(sent.connection ?? '').not.toContain('x-client-hop');
  });

  it('passes x-fapi-interaction-id through and echoes it, generating one when the client sent none', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, json);
      res.end('{}');
    });
    const { server } = await proxyTo(up.url);
    const given = await request(`${server.url}/accounts`, { headers: { 'x-fapi-interaction-id': '93bac548-d2de-4546-b106-880a5018460d' } });
    await given.body.dump();
    expect(given.headers['x-fapi-interaction-id']).toBe('93bac548-d2de-4546-b106-880a5018460d');
    expect(up.seen[0]?.headers['x-fapi-interaction-id']).toBe('93bac548-d2de-4546-b106-880a5018460d');

    const generated = await request(`${server.url}/accounts`);
    await generated.body.dump();
    const id = generated.headers['x-fapi-interaction-id'];
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(up.seen[1]?.headers['x-fapi-interaction-id']).toBe(id);
  });

  it('streams the response: the first chunk reaches the client before the upstream has finished', async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      void released.then(() => res.end('last'));
    });
    const { server } = await proxyTo(up.url);
    const res = await request(`${server.url}/accounts/22289/transactions`);
    const chunks = res.body[Symbol.asyncIterator]();
    const first = await chunks.next();
    expect(Buffer.from(first.value as Uint8Array).toString()).toBe('first;');
    release();
    let rest = '';
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) rest += Buffer.from(next.value as Uint8Array).toString();
    expect(rest).toBe('last');
  });

  it('streams the request body: the upstream reads the first chunk before the client has finished sending', async () => {
    let upstreamGot = '';
    const up = await upstream((req, res) => {
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (upstreamGot += chunk));
      req.on('end', () => {
        res.writeHead(201, json);
        res.end(JSON.stringify({ received: upstreamGot }));
      });
    });
    const { server } = await proxyTo(up.url);
    const body = new PassThrough();
    const pending = request(`${server.url}/payments`, { method: 'POST', body, headers: json });
    body.write('{"part":1,');
    await waitFor(() => upstreamGot === '{"part":1,', { what: 'the first chunk at the upstream', timeoutMs: 5_000 });
    body.end('"more":2}');
    const res = await pending;
    expect(res.statusCode).toBe(201);
    expect(await res.body.json()).toEqual({ received: '{"part":1,"more":2}' });
    expect(up.seen[0]?.headers['transfer-encoding']).toBe('chunked');
  });

  it('forwards method, path prefix, query and an in-process body (app.request)', async () => {
    const up = await upstream((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(200, json);
        res.end(JSON.stringify({ method: req.method, url: req.url, body }));
      });
    });
    const app = proxyApp(`${up.url}/open-banking/v3.1/`, 30_000);
    cleanups.push(() => app.close());
    const res = await app.request('http://gateway.test/payments?dry=1', { method: 'POST', body: '{"a":1}', headers: json });
    expect(await res.json()).toEqual({ method: 'POST', url: '/open-banking/v3.1/payments?dry=1', body: '{"a":1}' });
  });

  it('keeps repeated response fields apart and sends no body for 204 or HEAD', async () => {
    const up = await upstream((req, res) => {
      if (req.url === '/empty') {
        res.writeHead(204, { 'set-cookie': ['a=1', 'b=2'] });
        res.end();
        return;
      }
      res.writeHead(200, { ...json, 'content-length': '2' });
      res.end(req.method === 'HEAD' ? undefined : '{}');
    });
    const { server } = await proxyTo(up.url);
    const empty = await rawGet(`${server.url}/empty`, {});
    expect(empty.status).toBe(204);
    expect(empty.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(empty.body).toBe('');
    const head = await request(`${server.url}/accounts`, { method: 'HEAD' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('2');
    expect(await head.body.text()).toBe('');
  });

  it('answers 502 problem+json when the upstream cannot be reached', async () => {
    const { server } = await proxyTo(`http://127.0.0.1:${await freePort()}`);
    const res = await request(`${server.url}/accounts`);
    expect(res.statusCode).toBe(502);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['x-fapi-interaction-id']).toBeDefined();
    expect(await res.body.json()).toMatchObject({ status: 502, code: 'UPSTREAM_ERROR', title: 'Bad gateway' });
  });

  it('answers 504 problem+json when the upstream sends no headers within the timeout', async () => {
    const up = await upstream(() => {
      // Never answers; the upstream's cleanup closes the connection.
    });
    const { server } = await proxyTo(up.url, 150);
    const started = performance.now();
    const res = await request(`${server.url}/accounts`);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(res.statusCode).toBe(504);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(await res.body.json()).toMatchObject({ status: 504, code: 'UPSTREAM_TIMEOUT', detail: 'The upstream did not answer within 150 ms.' });
  });

  it('abandons the upstream request when the client goes away', async () => {
    let upstreamClosed = false;
    const up = await upstream((_req, res) => {
      res.on('close', () => (upstreamClosed = true));
    });
    const { server } = await proxyTo(up.url);
    const controller = new AbortController();
    const pending = request(`${server.url}/accounts`, { signal: controller.signal });
    await waitFor(() => up.seen.length === 1, { what: 'the request at the upstream' });
    controller.abort();
    await expect(pending).rejects.toThrow();
    await waitFor(() => upstreamClosed, { what: 'the upstream request to be closed' });
  });
});
