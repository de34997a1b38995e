/**
 * How far a producer's events have got, for a restore that must not read ClickHouse before
 * the events of every call debited before a store's loss are in Kafka.
 *
 * A call is opened at its clock reading, before its debit is sent, and closed when its event
 * is emitted; emitted events are delivered in emit order (sent to Kafka, or spooled to disk).
 * A `checkpoint` taken at some moment is `reached` once every call opened before it has been
 * closed and then every event emitted by that time delivered: from then on, every call this process
 * debited before that moment has its event delivered, whatever its upstream took. No clock is
 * compared across processes: the moment is when this process saw the restore's token, which
 * the restore wrote after the loss, so every debit of the lost store came before it.
 */
export interface DeliveryCheckpoint {
  /** Calls opened before the checkpoint. */
  readonly opened: number;
  /**
   * Events to be delivered: taken once the last of those calls closed (its event is emitted
   * then, after the checkpoint itself), undefined until then.
   */
  emitted: number | undefined;
}

export class DeliveryProgress {
  #opened = 0;
  /** Open calls (their event not emitted yet), oldest first: call id -> its opening number. */
  readonly #open = new Map<string, number>();
  #emitted = 0;
  #delivered = 0;

  /** A call read its clock and is about to be debited. */
  open(id: string): void {
    this.#open.set(id, this.#opened++);
  }

  /** The call's event was emitted, and counted by `emitted` (or the call ended without one). */
  close(id: string): void {
    this.#open.delete(id);
  }

  emitted(n: number): void {
    this.#emitted += n;
  }

  /** `n` events, the oldest emitted and not yet delivered, were delivered. */
  delivered(n: number): void {
    this.#delivered += n;
  }

  checkpoint(): DeliveryCheckpoint {
    return { opened: this.#opened, emitted: undefined };
  }

  /** Whether `checkpoint` is reached; the first call that finds its calls closed fixes its events. */
  reached(checkpoint: DeliveryCheckpoint): boolean {
    if (checkpoint.emitted === undefined) {
      // Openings only grow, and the map keeps them in that order: the first is the oldest.
      const oldest = this.#open.values().next();
      if (!oldest.done && oldest.value < checkpoint.opened) return false;
      checkpoint.emitted = this.#emitted;
    }
    return this.#delivered >= checkpoint.emitted;
  }
}
