import type { AddressInfo, Server } from 'node:net';

/** What a server child tells the scenario that started it, over the IPC channel. */
export type ChildMessage = { type: 'ready'; port: number } | { type: 'stats'; stats: Record<string, number> };

/** What the scenario may ask a server child. */
export type ParentMessage = { type: 'stats' } | { type: 'stop' };

export interface AnnounceOptions {
  /** Answers the parent's stats request. */
  stats?: () => Record<string, number> | Promise<Record<string, number>>;
  /** Runs before a clean exit (close stores, flush emitters). */
  onStop?: () => Promise<void>;
}

/**
 * Listens on a loopback port and reports it to the parent. On `stop` the process exits
 * cleanly, which lets `--cpu-prof` write its profile. BENCH_PORT picks the port when a
 * server is started by hand (e.g. to profile it alone); otherwise any free port.
 */
export const announce = (server: Server, { stats = () => ({}), onStop = async () => {} }: AnnounceOptions = {}): void => {
  const send = (message: ChildMessage) => process.send?.(message);
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stats') {
      void Promise.resolve(stats()).then((s) => send({ type: 'stats', stats: s }));
    } else if (message.type === 'stop') {
      if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function') server.closeAllConnections();
      server.close();
      void onStop().finally(() => process.exit(0));
    }
  });
  // The IPC channel closing means the scenario that started us is gone.
  process.on('disconnect', () => process.exit(0));
  server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', () => {
    const port = (server.address() as AddressInfo).port;
    if (process.send) send({ type: 'ready', port });
    else console.log(`listening on http://127.0.0.1:${port}`);
  });
};
