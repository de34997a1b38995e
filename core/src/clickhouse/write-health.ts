/**
 * Whether the event writer's last write reached ClickHouse, for a service's readiness: failing
 * (with the cause and since when) from the first failed write until one succeeds.
 */
export class WriteHealth {
  #failure: { cause: string; since: number } | undefined;

  get healthy(): boolean {
    return this.#failure === undefined;
  }

  /** The cause of the current failure and when it began; undefined while healthy. */
  get failure(): { cause: string; since: number } | undefined {
    return this.#failure;
  }

  failed(cause: string, now = Date.now()): void {
    this.#failure = { cause, since: this.#failure?.since ?? now };
  }

  succeeded(): void {
    this.#failure = undefined;
  }
}
