/**
 * Which partitions this group member holds, and since which generation without a break.
 *
 * A batch fetched in generation g of partition p is still this member's to write and commit
 * when p has been assigned to it in every generation since g (no other member can have had p
 * meanwhile), and the coordinator heard from it recently enough that it cannot have been
 * expelled: less than `staleAfterMs` ago, a margin under the session timeout. A process that
 * was paused past its session timeout (SIGSTOP, a long GC, a frozen VM) sees its last
 * confirmation too old and owns nothing until it has heard from the coordinator again.
 */
export class PartitionOwnership {
  readonly #staleAfterMs: number;
  readonly #since = new Map<number, number>();
  /** Bumped whenever a partition's fetch position stops being valid (revoked, rewound). */
  readonly #epochs = new Map<number, number>();
  #generation = 0;
  #confirmedAt = Number.NEGATIVE_INFINITY;

  constructor(staleAfterMs: number) {
    this.#staleAfterMs = staleAfterMs;
  }

  get generation(): number {
    return this.#generation;
  }

  /** The partitions held now, in order. */
  get partitions(): number[] {
    return [...this.#since.keys()].sort((a, b) => a - b);
  }

  /** A join completed: `partitions` are held in `generation`. Returns those no longer held. */
  assign(partitions: readonly number[], generation: number, now: number): number[] {
    const held = new Set(partitions);
    const revoked = [...this.#since.keys()].filter((p) => !held.has(p));
    for (const p of revoked) {
      this.#since.delete(p);
      this.invalidate(p);
    }
    for (const p of held) if (!this.#since.has(p)) this.#since.set(p, generation);
    this.#generation = generation;
    this.#confirmedAt = now;
    return revoked;
  }

  /** The coordinator accepted a heartbeat of the current generation. */
  confirm(now: number): void {
    this.#confirmedAt = now;
  }

  /** Left the group (or lost it): nothing is held. */
  clear(): void {
    for (const p of this.#since.keys()) this.invalidate(p);
    this.#since.clear();
  }

  /** True while a batch of `partition` fetched in `generation` may still be written and committed. */
  owns(partition: number, generation: number, now: number): boolean {
    const since = this.#since.get(partition);
    return since !== undefined && since <= generation && generation <= this.#generation && now - this.#confirmedAt < this.#staleAfterMs;
  }

  /** The current validity token of a partition's fetch position. */
  epoch(partition: number): number {
    return this.#epochs.get(partition) ?? 0;
  }

  invalidate(partition: number): void {
    this.#epochs.set(partition, this.epoch(partition) + 1);
  }
}
