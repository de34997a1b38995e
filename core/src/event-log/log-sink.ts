import type { ClickHouseClient } from '@clickhouse/client';
import { EventWriter, type WriteResult } from '../clickhouse/event-writer.ts';
import { parseEvent, type StoredEvent } from '../events/validate-event.ts';
import { createLogger, type Logger } from '../logger.ts';
import { metrics } from '../metrics/metrics.ts';
import { appendDeadLetters, DEAD_LETTER_FILE, type RefusedLine } from './dead-letter-file.ts';
import type { EventLog, LogPosition } from './event-log.ts';
import { backoffDelay } from '../backoff.ts';
import { ENV } from '../config/env.ts';

export interface LogSinkOptions {
  log: EventLog;
  clickhouse: ClickHouseClient;
  /** Most events in one insert. */
  batchSize?: number;
  /** Longest a batch waits to fill before what it has is written. */
  batchWaitMs?: number;
  /** First pause after a failed write; doubled after each failure, up to 5 s. */
  retryMs?: number;
  /** DEDUPE_HORIZON_DAYS of the writer. */
  dedupeHorizonDays?: number | undefined;
  logger?: Logger | undefined;
}

interface Batch {
  lines: number;
  events: StoredEvent[];
  /** The line of each event, for the dead-letter file should ClickHouse refuse it. */
  sources: string[];
  refused: RefusedLine[];
  end: LogPosition;
}

const MAX_RETRY_MS = 5_000;
const PARSE_SLICE = 500;

/** The lines of the events ClickHouse refused on their own, with its reason. */
const refusedLines = (batch: Batch, written: WriteResult): RefusedLine[] => {
  if (written.refused.length === 0) return [];
  const reasons = new Map(written.refused.map((r) => [r.event, r.reason]));
  return batch.events.flatMap((event, i) => {
    const reason = reasons.get(event);
    return reason === undefined ? [] : [{ line: batch.sources[i] ?? '', reason }];
  });
};
const REFUSALS_LOGGED_PER_BATCH = 10;

/**
 * The embedded sink: drains the event log into ClickHouse through the idempotent writer,
 * in batches of up to `batchSize`, and checkpoints after each. Per batch:
 * 1. Read the next lines; those that are not a valid event go to the dead-letter file.
 * 2. Store the rest (the event writer: each (source, id) once); events ClickHouse refuses on
 *    their own go to the dead-letter file too.
 * 3. Acknowledge: checkpoint, then delete fully stored segments. A crash before this step
 *    stores the batch again, and the writer drops what is there (at least once + dedup).
 * A failed write is logged, counted, shown by `problem` and retried with back-off.
 */
export class LogSink {
  readonly #log: EventLog;
  readonly #writer: EventWriter;
  readonly #batchSize: number;
  readonly #batchWaitMs: number;
  readonly #retryMs: number;
  readonly #logger: Logger | undefined;
  #batch: Batch | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #hurry = 0;
  #failures = 0;
  #cancelPause: (() => void) | undefined;
  #flushes: { through: number; resolve: () => void }[] = [];
  /** Why the last write failed, until one succeeds. */
  problem: string | undefined;
  /** Batches stored since the sink was made. */
  batches = 0;

  constructor({ log, clickhouse, batchSize = ENV.SINK_BATCH_SIZE.fallback, batchWaitMs = ENV.SINK_BATCH_WAIT_MS.fallback, retryMs = 250, dedupeHorizonDays, logger }: LogSinkOptions) {
    this.#log = log;
    this.#writer = new EventWriter({ clickhouse, logger: logger ?? createLogger('event-log', 'silent'), writer: 'single-process', dedupeHorizonDays });
    this.#batchSize = batchSize;
    this.#batchWaitMs = batchWaitMs;
    this.#retryMs = retryMs;
    this.#logger = logger;
  }

  /** Stores everything the log holds, in full batches back to back; gives up at `deadline` (epoch ms). */
  async drain(deadline = Infinity): Promise<void> {
    while (this.#log.pending > 0 && Date.now() < deadline) {
      if (!(await this.#attempt())) await this.#pause(Math.min(deadline - Date.now(), this.#backOffMs()));
    }
  }

  /** Drains in the background: a batch as soon as it is full, or `batchWaitMs` after the loop found it short. */
  start(): void {
    this.#stopping = false;
    this.#loop ??= this.#run().finally(() => (this.#loop = undefined));
  }

  /** Resolves when every line appended so far is stored. */
  flush(): Promise<void> {
    const through = this.#log.appended;
    if (this.#stored() >= through) return Promise.resolve();
    this.#hurry += 1;
    this.#log.interrupt();
    return new Promise<void>((resolve) => this.#flushes.push({ through, resolve })).finally(() => (this.#hurry -= 1));
  }

  /** Stops the loop, then stores what is left at full batch rate until `deadline` (epoch ms). */
  async stop(deadline = Date.now() + 10_000): Promise<void> {
    this.#stopping = true;
    this.#log.interrupt();
    this.#cancelPause?.();
    await this.#loop;
    const started = performance.now();
    const [events, batches] = [this.#log.pending, this.batches];
    await this.drain(deadline);
    if (events > 0) {
      this.#logger?.info('event log stored at the stop', { events: events - this.#log.pending, batches: this.batches - batches, ms: Math.round(performance.now() - started) });
    }
    if (this.#log.pending > 0) {
      this.#logger?.warn('events stay in the event log; the next start stores them', { events: this.#log.pending, dir: this.#log.dir });
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      if (this.#log.pending === 0) {
        await this.#log.waitForPending(1, 60_000);
        continue;
      }
      if (this.#hurry === 0 && this.#log.pending < this.#batchSize) {
        await this.#log.waitForPending(this.#batchSize, this.#batchWaitMs);
        if (this.#stopping) break;
      }
      if (!(await this.#attempt())) await this.#pause(this.#backOffMs());
    }
  }

  /** Stores one batch; false when the write failed (logged, counted, kept for the next attempt). */
  async #attempt(): Promise<boolean> {
    try {
      await this.#storeNext();
      if (this.problem !== undefined) this.#logger?.info('the event log is being stored again', { backlog: this.#log.pending });
      this.problem = undefined;
      this.#failures = 0;
      return true;
    } catch (err) {
      this.#failures += 1;
      const message = err instanceof Error ? err.message : String(err);
      this.problem = `storing the event log failed: ${message}`;
      this.#logger?.error('cannot store events from the event log; retrying', { error: message, backlog: this.#log.pending, failures: this.#failures });
      return false;
    }
  }

  async #storeNext(): Promise<void> {
    this.#batch ??= await this.#readBatch();
    const batch = this.#batch;
    if (batch.lines === 0) {
      this.#batch = undefined;
      return;
    }
    const endTimer = metrics.sinkFlushLatency.startTimer();
    let outcome = 'error';
    let written: WriteResult;
    let dead: RefusedLine[];
    try {
      written = await this.#write(batch.events);
      dead = [...batch.refused, ...refusedLines(batch, written)];
      await appendDeadLetters(this.#log.dir, dead);
      await this.#log.acknowledge(batch.end, batch.lines);
      outcome = 'ok';
    } finally {
      endTimer({ outcome });
    }
    const { inserted, alreadyPresent } = written;
    this.#batch = undefined;
    this.batches += 1;
    metrics.sinkBatchSize.observe(batch.lines);
    metrics.eventsProcessed.inc({ outcome: 'inserted' }, inserted);
    metrics.eventsProcessed.inc({ outcome: 'duplicate' }, alreadyPresent);
    if (dead.length > 0) {
      metrics.eventsProcessed.inc({ outcome: 'dead_letter' }, dead.length);
      metrics.deadLettered.inc(dead.length);
      for (const { reason, line } of dead.slice(0, REFUSALS_LOGGED_PER_BATCH)) {
        this.#logger?.error('event refused by the sink; kept in the dead-letter file', { reason, event: line.slice(0, 200) });
      }
      this.#logger?.error('events dead-lettered', { count: dead.length, file: `${this.#log.dir}/${DEAD_LETTER_FILE}` });
    }
    const stored = this.#stored();
    this.#flushes = this.#flushes.filter((f) => (f.through <= stored ? (f.resolve(), false) : true));
  }

  async #write(events: StoredEvent[]): Promise<WriteResult> {
    try {
      return await this.#writer.write(events);
    } catch (err) {
      metrics.sinkWriteFailures.inc();
      throw err;
    }
  }

  async #readBatch(): Promise<Batch> {
    const { lines, end } = await this.#log.read(this.#batchSize);
    const events: StoredEvent[] = [];
    const sources: string[] = [];
    const refused: RefusedLine[] = [];
    for (const [i, line] of lines.entries()) {
      // Parsing a batch takes ~8 µs an event: in slices, so that the gateway beside it is not held up.
      if (i > 0 && i % PARSE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      const parsed = parseEvent(line);
      if (parsed.ok) {
        events.push(parsed.event);
        sources.push(line);
      } else refused.push({ line, reason: parsed.reason });
    }
    return { lines: lines.length, events, sources, refused, end };
  }

  #stored(): number {
    return this.#log.appended - this.#log.pending;
  }

  #backOffMs(): number {
    return backoffDelay(this.#failures - 1, { baseMs: this.#retryMs, capMs: MAX_RETRY_MS });
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#cancelPause = done;
    }).finally(() => (this.#cancelPause = undefined));
  }
}
