import type { CloudEventV1 } from 'cloudevents';
import type { EventEmitter } from './emitter.ts';

export type EventHandler = (events: CloudEventV1<unknown>[]) => void | Promise<void>;

/**
 * The event bus of a single process (no KAFKA_BROKERS): events are batched per tick and
 * delivered to every subscriber in emit order. Delivery is at-least-once per subscriber:
 * a batch whose handler throws is offered again with the next delivery.
 */
export class InProcessBus implements EventEmitter {
  readonly #subscribers = new Map<EventHandler, CloudEventV1<unknown>[]>();
  #pending: CloudEventV1<unknown>[] = [];
  #scheduled: Promise<void> | undefined;
  #delivering: Promise<void> = Promise.resolve();

  subscribe(handler: EventHandler): () => void {
    this.#subscribers.set(handler, []);
    return () => this.#subscribers.delete(handler);
  }

  emit(event: CloudEventV1<unknown>): void {
    this.#pending.push(event);
    this.#scheduled ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#deliver());
  }

  async #deliver(): Promise<void> {
    this.#scheduled = undefined;
    const batch = this.#pending;
    this.#pending = [];
    const previous = this.#delivering;
    this.#delivering = previous.then(async () => {
      for (const [handler, backlog] of this.#subscribers) {
        backlog.push(...batch);
        const events = backlog.splice(0);
        try {
          await handler(events);
        } catch {
          backlog.unshift(...events);
        }
      }
    });
    await this.#delivering;
  }

  /** Events emitted but not yet accepted by every subscriber. */
  get backlog(): number {
    let n = this.#pending.length;
    for (const b of this.#subscribers.values()) n = Math.max(n, b.length);
    return n;
  }

  async flush(): Promise<void> {
    await this.#scheduled;
    await this.#delivering;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
