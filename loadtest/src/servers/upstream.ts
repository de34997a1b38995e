import { createServer } from 'node:http';
import { announce } from './announce.ts';

/**
 * The upstream every proxy in a scenario forwards to: plain `node:http`, one small JSON
 * body, keep-alive. It must be much faster than the proxies in front of it, so that the
 * proxies are what the scenario measures.
 */
const body = Buffer.from(JSON.stringify({ Data: { Account: [{ AccountId: 'acc-1', Currency: 'GBP' }] } }));
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

const server = createServer((req, res) => {
  // Drain any request body before answering so the connection stays reusable.
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 60_000;
announce(server);
