/**
 * Runs `handle` over items of several partitions: the items of one partition one after the other
 * in the order they were given, across calls to `run` (a partition's items of a later call wait
 * for its items of every earlier call), and at most `concurrency` items at a time in all. So a
 * later fetch's batches start as soon as their own partition is free, not when the slowest
 * partition of the earlier fetch is done: the handler never idles while some partition has work.
 */
export class PartitionLanes<T> {
  readonly #tails = new Map<number, Promise<void>>();
  readonly #waiting: (() => void)[] = [];
  #running = 0;
  readonly #concurrency: number;
  readonly #partitionOf: (item: T) => number;
  readonly #handle: (item: T) => Promise<boolean>;

  /** `handle` resolves false to refuse an item: what follows it in the same call, in that partition, is not handled. */
  constructor(concurrency: number, partitionOf: (item: T) => number, handle: (item: T) => Promise<boolean>) {
    this.#concurrency = concurrency;
    this.#partitionOf = partitionOf;
    this.#handle = handle;
  }

  /** Resolves when every item of this call was handled or passed over after a refusal. */
  run(items: readonly T[]): Promise<void> {
    const byPartition = new Map<number, T[]>();
    for (const item of items) {
      const p = this.#partitionOf(item);
      const list = byPartition.get(p);
      if (list) list.push(item);
      else byPartition.set(p, [item]);
    }
    const lanes = [...byPartition].map(([p, list]) => {
      const tail = (this.#tails.get(p) ?? Promise.resolve()).then(() => this.#lane(list));
      this.#tails.set(p, tail);
      // The last call's tail is forgotten once it is done, so the map holds only busy partitions.
      void tail.then(() => {
        if (this.#tails.get(p) === tail) this.#tails.delete(p);
      });
      return tail;
    });
    return Promise.all(lanes).then(() => undefined);
  }

  async #lane(list: readonly T[]): Promise<void> {
    for (const item of list) {
      await this.#slot();
      let done: boolean;
      try {
        done = await this.#handle(item);
      } catch {
        // A throw refuses the item like false (the caller's handler reports its own errors).
        done = false;
      } finally {
        this.#release();
      }
      if (!done) return;
    }
  }

  #slot(): Promise<void> {
    if (this.#running < this.#concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Hands the slot to the next waiting item, or frees it. */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}
