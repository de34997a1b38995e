import type { CloudEventV1 } from 'cloudevents';
import { countingCell, metrics } from '../metrics/metrics.ts';
import type { EventEmitter } from './emitter.ts';

export type EventHandler = (events: CloudEventV1<unknown>[]) => void | Promise<void>;

/**
 * The event bus of a single process (no KAFKA_BROKERS): events are batched per tick and
 * delivered to every subscriber in emit order. Delivery is at-least-once per subscriber:
 * a batch whose handler throws is kept and offered again, with what came since, after
 * `retryMs` or with the next delivery, whichever is first.
 */
export class InProcessBus implements EventEmitter {
  readonly #subscribers = new Map<EventHandler, CloudEventV1<unknown>[]>();
  #pending: CloudEventV1<unknown>[] = [];
  #scheduled: Promise<void> | undefined;
  #delivering: Promise<void> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #emitted = countingCell(metrics.eventsEmitted);
  readonly #retryMs: number;

  constructor({ retryMs = 500 }: { retryMs?: number } = {}) {
    this.#retryMs = retryMs;
  }

  subscribe(handler: EventHandler): () => void {
    this.#subscribers.set(handler, []);
    return () => this.#subscribers.delete(handler);
  }

  emit(event: CloudEventV1<unknown>): void {
    this.#pending.push(event);
    this.#emitted.inc();
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
        if (events.length === 0) continue;
        try {
          await handler(events);
        } catch {
          backlog.unshift(...events);
          this.#scheduleRetry();
        }
      }
    });
    await this.#delivering;
  }

  #scheduleRetry(): void {
    if (this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#scheduled ??= Promise.resolve().then(() => this.#deliver());
    }, this.#retryMs);
    this.#retryTimer.unref();
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
    clearTimeout(this.#retryTimer);
  }
}
