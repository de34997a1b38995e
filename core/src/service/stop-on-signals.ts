import type { Logger } from '../logger.ts';

/** One step of a service's stop, in the order the steps are listed. */
export interface StopStep {
  /** What the step stops, for the log line of a step that failed. */
  name: string;
  run: () => unknown;
}

/**
 * The one shutdown sequence: on the first SIGTERM or SIGINT, logs `shutting down`, runs the
 * steps one after another (servers first, so calls in flight finish and emit; then what they
 * emitted into; the stores last), logs `stopped` and exits 0. A step that fails is logged with
 * its name and the rest still run, so one stuck client does not keep the others open; the exit
 * code is then 1. `fields` adds to the `shutting down` line (a backlog, say).
 */
export const stopOnSignals = (logger: Logger, steps: StopStep[], fields: () => Record<string, unknown> = () => ({})): void => {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = performance.now();
    logger.info('shutting down', { signal, ...fields() });
    let failed = false;
    for (const step of steps) {
      try {
        await step.run();
      } catch (err) {
        failed = true;
        logger.error('shutdown step failed', { step: step.name, error: err instanceof Error ? err.message : String(err) });
      }
    }
    logger.info('stopped', { ms: Math.round(performance.now() - started) });
    process.exit(failed ? 1 : 0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop(signal));
};
