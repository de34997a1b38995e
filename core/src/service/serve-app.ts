import { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface RunningServer {
  url: string;
  port: number;
  /**
   * Stops accepting connections and resolves when in-flight requests are done; after
   * `graceMs` the remaining connections are cut.
   */
  close(graceMs?: number): Promise<void>;
}

/** Serves a Hono app with @hono/node-server; port 0 picks a free port. */
export const serveApp = (app: Pick<Hono, 'fetch'>, { port = 0, hostname = '127.0.0.1' } = {}): Promise<RunningServer> =>
  new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, (info: AddressInfo) => {
      server.off('error', reject);
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: (graceMs = 5_000) =>
          new Promise<void>((done) => {
            const force = setTimeout(() => {
              if (server instanceof Server) server.closeAllConnections();
            }, graceMs);
            server.close(() => {
              clearTimeout(force);
              done();
            });
            // Keep-alive connections with no request in flight would hold close() open.
            if (server instanceof Server) server.closeIdleConnections();
          }),
      });
    });
    server.once('error', reject);
  });
