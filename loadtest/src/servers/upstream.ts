import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announce, listenPort } from './announce.ts';
import { UPSTREAM_BODY } from './upstream-body.ts';

/**
 * The upstream every proxy in a scenario forwards to: plain `node:http`, one small JSON
 * body, keep-alive. It must be much faster than the proxies in front of it, so that the
 * proxies are what the scenario measures.
 */
const body = Buffer.from(UPSTREAM_BODY);
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };
let requests = 0;

const server = createServer((req, res) => {
  requests++;
  // Drain any request body before answering so the connection stays reusable.
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(listenPort(), '127.0.0.1', () => {
  announce((server.address() as AddressInfo).port, {
    stats: () => ({ requests }),
    onStop: async () => {
      server.closeAllConnections();
      server.close();
    },
  });
});
