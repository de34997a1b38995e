import cluster, { type Worker } from 'node:cluster';
import { freePort } from '@tollgate/testkit/free-port';
import { announce, listenPort, type ChildMessage } from './announce.ts';

/** Workers the scenario asked for (BENCH_WORKERS); 1 runs the server in the process itself. */
export const benchWorkers = (): number => Math.max(1, Number(process.env.BENCH_WORKERS ?? 1));

/** True in the process that should serve: a single server, or a worker of several. */
export const servesRequests = (): boolean => benchWorkers() <= 1 || cluster.isWorker;

const ask = (worker: Worker): Promise<Record<string, number>> =>
  new Promise((resolve) => {
    const onMessage = (m: ChildMessage) => {
      if (m.type !== 'stats') return;
      worker.off('message', onMessage);
      resolve(m.stats);
    };
    worker.on('message', onMessage);
    worker.send({ type: 'stats' });
  });

/**
 * A node:cluster primary for a server child, as the sidecar's SIDECAR_WORKERS runs: it forks
 * `benchWorkers()` copies of this entry on one port (each announces itself to the primary),
 * then announces the port and the workers' pids to the scenario, answers `stats` with the
 * workers' counters summed (plus `extra`), and stops the workers on `stop`.
 */
export const runClusterPrimary = async ({ extra = async () => ({}), onStop = async () => {} }: { extra?: () => Promise<Record<string, number>>; onStop?: () => Promise<void> } = {}) => {
  const port = listenPort() || (await freePort());
  const workers = Array.from({ length: benchWorkers() }, () => cluster.fork({ BENCH_PORT: String(port) }));
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.on('message', (m: ChildMessage) => m.type === 'ready' && resolve());
          worker.once('exit', (code) => reject(new Error(`a worker exited (${code}) before it listened`)));
        }),
    ),
  );
  announce(port, {
    workers: workers.map((w) => w.process.pid ?? -1),
    stats: async () => {
      const sum: Record<string, number> = {};
      for (const stats of await Promise.all(workers.map(ask))) {
        for (const [key, value] of Object.entries(stats)) sum[key] = (sum[key] ?? 0) + value;
      }
      return { ...sum, ...(await extra()) };
    },
    onStop: async () => {
      await Promise.all(
        workers.map((worker) => {
          const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
          worker.send({ type: 'stop' });
          return exited;
        }),
      );
      await onStop();
    },
  });
};
