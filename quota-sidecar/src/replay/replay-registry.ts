import { randomUUID } from 'node:crypto';
import { startReplay, type Replay, type ReplayOptions, type ReplayProgress, type ReplayRequest } from './replay.ts';
import { TollgateError } from '@tollgate/core';

export type ReplayDefaults = Omit<ReplayOptions, keyof ReplayRequest | 'id'>;

/** What the replay routes need: start a replay, read one's progress; served here or by another process. */
export interface Replays {
  /** Starts a replay and answers its first progress; CONFLICT while another one runs. */
  start(request: ReplayRequest): ReplayProgress | Promise<ReplayProgress>;
  get(id: string): ReplayProgress | undefined | Promise<ReplayProgress | undefined>;
}

/**
 * The replays of a process, one at a time: starting one while another runs is a CONFLICT (409).
 * Finished replays stay readable (the most recent `keep` of them).
 */
export class ReplayRegistry implements Replays {
  readonly #defaults: ReplayDefaults;
  readonly #keep: number;
  readonly #replays = new Map<string, Replay>();
  #current: Replay | undefined;

  constructor(defaults: ReplayDefaults, { keep = 100 }: { keep?: number } = {}) {
    this.#defaults = defaults;
    this.#keep = keep;
  }

  /** Starts a replay; throws CONFLICT while another one runs. */
  start(request: ReplayRequest): ReplayProgress {
    const running = this.#current;
    if (running && running.progress().state === 'running') {
      throw new TollgateError('CONFLICT', `Replay ${running.id} is still running; one replay runs at a time.`, { running: running.id });
    }
    const replay = startReplay({ ...this.#defaults, ...request, id: randomUUID() });
    this.#current = replay;
    this.#replays.set(replay.id, replay);
    for (const old of this.#replays.keys()) {
      if (this.#replays.size <= this.#keep) break;
      this.#replays.delete(old);
    }
    return replay.progress();
  }

  get(id: string): ReplayProgress | undefined {
    return this.#replays.get(id)?.progress();
  }

  /** Settles when the running replay (if any) has finished. */
  async idle(): Promise<void> {
    await this.#current?.done;
  }
}
