import type { CloudEventV1 } from 'cloudevents';
import type { EventLog } from '../event-log/event-log.ts';
import type { LogSink } from '../event-log/log-sink.ts';
import type { Logger } from '../logger.ts';
import { countingCell, metrics, reportEventLogBacklog } from '../metrics/metrics.ts';
import type { EventEmitter, EventPathStatus } from './emitter.ts';

export interface LogEmitterOptions {
  log: EventLog;
  sink: LogSink;
  logger?: Logger | undefined;
  /** Longest `close` stores what is left before leaving it in the log for the next start. */
  closeBudgetMs?: number;
}

const RETRY_MS = 100;
// Only calls already past the `accepting` check land here while appends fail: a bound, not a buffer.
const MAX_HELD = 100_000;

/**
 * The producer path of a process without Kafka: `emit` appends the event to the local log
 * with one synchronous write, so the event is on disk when the call that emitted it is
 * answered (the middleware emits before it hands the response back). The sink drains the
 * log into ClickHouse. While appends fail (disk full, I/O error) the events are held here
 * and written again, and `accepting` is false so that new calls are refused (503) meanwhile.
 */
export class LogEmitter implements EventEmitter {
  readonly #log: EventLog;
  readonly #sink: LogSink;
  readonly #logger: Logger | undefined;
  readonly #closeBudgetMs: number;
  readonly #emitted = countingCell(metrics.eventsEmitted);
  readonly #unreport: () => void;
  #held: string[] = [];
  #retryTimer: NodeJS.Timeout | undefined;

  constructor({ log, sink, logger, closeBudgetMs = 10_000 }: LogEmitterOptions) {
    this.#log = log;
    this.#sink = sink;
    this.#logger = logger;
    this.#closeBudgetMs = closeBudgetMs;
    this.#unreport = reportEventLogBacklog(() => this.#log.pending + this.#held.length);
  }

  emit(event: CloudEventV1<unknown>): void {
    const line = `${JSON.stringify(event)}\n`;
    this.#emitted.inc();
    // Events held after a failed append go first: the log keeps emit order.
    if (this.#held.length > 0) return this.#hold(line);
    try {
      this.#log.append(line);
    } catch (err) {
      this.#logger?.error('cannot append to the event log; calls are refused until it takes events again', {
        error: err instanceof Error ? err.message : String(err),
        dir: this.#log.dir,
      });
      this.#hold(line);
    }
  }

  get accepting(): boolean {
    return this.#held.length === 0 && !this.#log.full;
  }

  status(): EventPathStatus {
    const problem = this.#log.problem ?? this.#sink.problem ?? (this.#log.full ? `the event log in ${this.#log.dir} is full` : undefined);
    return { backlog: this.#log.pending + this.#held.length, ...(problem ? { problem } : {}) };
  }

  async flush(): Promise<void> {
    await this.#sink.flush();
  }

  async close(): Promise<void> {
    this.#writeHeld();
    clearTimeout(this.#retryTimer);
    await this.#sink.stop(Date.now() + this.#closeBudgetMs);
    if (this.#held.length > 0) {
      metrics.eventsUnrecorded.inc(this.#held.length);
      this.#logger?.error('events could not be written to the event log before the stop', { events: this.#held.length });
    }
    await this.#log.close();
    this.#unreport();
  }

  #hold(line: string): void {
    if (this.#held.length >= MAX_HELD) {
      metrics.eventsUnrecorded.inc();
      return;
    }
    this.#held.push(line);
    this.#retryLater();
  }

  #retryLater(): void {
    this.#retryTimer ??= setTimeout(() => {
      this.#retryTimer = undefined;
      this.#writeHeld();
    }, RETRY_MS);
  }

  #writeHeld(): void {
    const held = this.#held;
    if (held.length === 0) return;
    let written = 0;
    try {
      for (const line of held) {
        this.#log.append(line);
        written += 1;
      }
    } catch {
      this.#held = held.slice(written);
      this.#retryLater();
      return;
    }
    this.#held = [];
    this.#logger?.info('the event log takes events again', { written });
  }
}
