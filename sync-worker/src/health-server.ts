import { createServer, type Server } from 'node:http';
import { registry } from '@tollgate/core';

export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

/** `/healthz` (live), `/readyz` (dependencies answer) and `/metrics`, on their own small server. */
export const serveHealth = async ({ port, ready }: { port: number; ready: () => Promise<boolean> }): Promise<HealthServer> => {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz') return send(200, JSON.stringify({ status: 'live' }));
    if (path === '/readyz') {
      void ready()
        .catch(() => false)
        .then((ok) => send(ok ? 200 : 503, JSON.stringify({ status: ok ? 'ready' : 'not ready' })));
      return;
    }
    if (path === '/metrics') {
      void registry.metrics().then((m) => send(200, m, registry.contentType));
      return;
    }
    send(404, JSON.stringify({ status: 404, title: 'Not Found' }), 'application/problem+json');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
