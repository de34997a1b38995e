import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

// Sampling every 250 µs: fine enough for per-request costs of tens of microseconds.
const SAMPLING_INTERVAL_US = 250;

/**
 * A CPU profile of this process's JavaScript thread over a window the caller chooses (the
 * measured part only, without start-up), taken through the inspector and written as a
 * .cpuprofile that `summarizeProfileFile` reads.
 */
export class InProcessProfile {
  readonly #session = new Session();

  async start(): Promise<void> {
    this.#session.connect();
    await this.#session.post('Profiler.enable');
    await this.#session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
    await this.#session.post('Profiler.start');
  }

  async stop(file: string): Promise<void> {
    const { profile } = await this.#session.post('Profiler.stop');
    this.#session.disconnect();
    await writeFile(file, JSON.stringify(profile));
  }
}
