import { metrics } from '@tollgate/core/metrics';
import { announce } from './announce.ts';

/**
 * `npm start` as a benchmark server: the real standalone main, which reads its ports,
 * directories and upstream from the environment the scenario sets. Its stats are the event
 * log's backlog; a stop is its own SIGTERM, which stores the log before it exits.
 */
await import('@tollgate/standalone/main');

const backlog = async () => (await metrics.eventLogBacklog.get()).values[0]?.value ?? 0;
announce(Number(process.env.PORT), {
  stats: async () => ({ backlog: await backlog() }),
  onStop: () =>
    new Promise<void>(() => {
      process.kill(process.pid, 'SIGTERM');
    }),
});
