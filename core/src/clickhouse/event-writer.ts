import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type { StoredEvent } from '../events/validate-event.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics/metrics.ts';
import { clickHouseErrorCode, rowProblem } from './refusal.ts';
import { clickHouseTime } from './time.ts';
import { WriteHealth } from './write-health.ts';
import { WriteFencedError, writeQueryId, type WriteFence } from './write-fence.ts';
import { ENV } from '../config/env.ts';
import { civilFromDays, DAY_MS } from '../utc-calendar.ts';

export interface RefusedEvent {
  event: StoredEvent;
  /** Why ClickHouse would not take it, in its words: what a dead letter carries. */
  reason: string;
}

export interface WriteResult {
  inserted: number;
  /** Events whose (source, id) was stored already, or came earlier in the same batch. */
  alreadyPresent: number;
  /** Events ClickHouse refused on their own; the rest of the batch was written. The caller dead-letters them. */
  refused: RefusedEvent[];
}

export interface EventWriterOptions {
  clickhouse: ClickHouseClient;
  logger: Logger;
  /** Names the writer in metrics and log lines: `sink`, `single-process`, `replay`. */
  writer: string;
  /** DEDUPE_HORIZON_DAYS: how long each stored key is remembered. */
  dedupeHorizonDays?: number;
}

/**
 * Most months (partitions of events and usage_1m) one INSERT may touch. ClickHouse refuses a block
 * over `max_partitions_per_insert_block` (100 by default); a batch that spans more is written in
 * several statements, so no batch can be refused for its shape.
 */
export const MONTHS_PER_INSERT = 12;

/**
 * The statement of a write: the columns of events_landing in the order of each row's JSON array.
 * Synchronous (`async_insert = 0`, in the statement itself: the embedded engine's connection would
 * run a separate SET before each insert): the statement that checks must be the one that stores
 * (write-fence.ts).
 */
const INSERT_LANDING =
  'INSERT INTO events_landing (source, id, type, subject, time, data, cost, decision, write_id, dedupe_until, fence_key, fence_token) SETTINGS async_insert = 0 FORMAT JSONCompactEachRow';

/**
 * One row of a write: the event and its line of JSONCompactEachRow (a JSON array in the order of
 * INSERT_LANDING's columns, written by one JSON.stringify: no object per row for the client to
 * serialise, and ClickHouse reads no column names). Every value is written by JSON.stringify as it
 * was in JSONEachRow, so ClickHouse refuses the same events for the same reasons.
 */
interface Row {
  event: StoredEvent;
  line: string;
}

/** Whether (source, id) came earlier in the batch: ids by source, so no key string is built per event. */
const firstCopies = () => {
  const seen = new Map<string, Set<string>>();
  let count = 0;
  return {
    get count() {
      return count;
    },
    isFirst({ source, id }: StoredEvent): boolean {
      let ids = seen.get(source);
      if (!ids) {
        ids = new Set();
        seen.set(source, ids);
      }
      if (ids.has(id)) return false;
      ids.add(id);
      count++;
      return true;
    },
  };
};

/** The months of a write's events (year * 12 + month), remembering the last day: consecutive events share it. */
const monthsOf = () => {
  let day = Number.NaN;
  let month = Number.NaN;
  return (ms: number): number => {
    const d = Math.floor(ms / DAY_MS);
    if (d !== day) {
      const civil = civilFromDays(d);
      month = civil.year * 12 + civil.month - 1;
      day = d;
    }
    return month;
  };
};

/** The lines of `rows` as one text stream (kept as text, so the embedded engine's connection reads it without decoding). */
const body = (rows: readonly Row[]): Readable => Readable.from([`${rows.map((r) => r.line).join('\n')}\n`], { objectMode: false, encoding: 'utf8' });

/**
 * The one write step of every path that stores events (the Kafka sink, the single process, replay):
 * each (source, id) is stored once within the dedupe horizon, whatever its time; the first stored
 * copy wins, so an event without `time` keeps the time of its first arrival.
 * 1. Repeats within the batch are dropped (the first copy stays).
 * 2. The rest is inserted into events_landing, at most MONTHS_PER_INSERT months per statement. The
 *    landing view drops, inside the statement, keys already stored and rows whose writer no longer
 *    owns the stream (write-fence.ts), and writes events, event_keys and this write's receipt.
 * 3. A statement ClickHouse refuses for its content is split until the events it refuses on their
 *    own are found; they are returned, the others are written. Any other failure is thrown, logged
 *    with its cause, counted, and marks `health` failing: retrying the whole write is safe.
 * 4. The receipt tells how many were stored; with a claim, a superseded claim throws WriteFencedError.
 * Within one stream this is exact. Two writers of different streams inserting the same key at the
 * same moment (the same id under two subjects, on two partitions) may both store it: the window is
 * one statement's time on the server (README, Guarantees).
 */
export class EventWriter {
  readonly health = new WriteHealth();
  readonly #ch: ClickHouseClient;
  readonly #logger: Logger;
  readonly #writer: string;
  readonly #horizonMs: number;

  constructor({ clickhouse, logger, writer, dedupeHorizonDays = ENV.DEDUPE_HORIZON_DAYS.fallback }: EventWriterOptions) {
    this.#ch = clickhouse;
    this.#logger = logger;
    this.#writer = writer;
    this.#horizonMs = dedupeHorizonDays * DAY_MS;
  }

  async write(batch: readonly StoredEvent[], { fence }: { fence?: WriteFence | undefined } = {}): Promise<WriteResult> {
    const end = metrics.eventWriteLatency.startTimer({ writer: this.#writer });
    let outcome = 'error';
    try {
      const result = await this.#write(batch, fence);
      this.health.succeeded();
      outcome = 'ok';
      metrics.eventsWritten.inc({ writer: this.#writer, outcome: 'inserted' }, result.inserted);
      metrics.eventsWritten.inc({ writer: this.#writer, outcome: 'duplicate' }, result.alreadyPresent);
      metrics.eventsWritten.inc({ writer: this.#writer, outcome: 'refused' }, result.refused.length);
      for (const { event, reason } of result.refused) {
        this.#logger.error('event refused by ClickHouse', { writer: this.#writer, source: event.source, id: event.id, reason });
      }
      return result;
    } catch (err) {
      if (err instanceof WriteFencedError) {
        outcome = 'fenced';
        metrics.eventWritesFenced.inc({ writer: this.#writer });
        this.#logger.warn('event write fenced: another writer owns the stream now', { writer: this.#writer, stream: err.fence.key, inserted: err.inserted });
        throw err;
      }
      const code = clickHouseErrorCode(err);
      const cause = err instanceof Error ? err.message : String(err);
      this.health.failed(cause);
      metrics.eventWriteFailures.inc({ writer: this.#writer, code: code === undefined ? 'none' : String(code) });
      this.#logger.error('event write failed', { writer: this.#writer, events: batch.length, code, error: cause });
      throw err;
    } finally {
      end({ outcome });
    }
  }

  async #write(batch: readonly StoredEvent[], fence: WriteFence | undefined): Promise<WriteResult> {
    const writeId = randomUUID();
    const dedupeUntil = clickHouseTime(Date.now() + this.#horizonMs).slice(0, 19);
    const fenceKey = fence?.key ?? '';
    const fenceToken = fence?.token ?? '';
    const monthOf = monthsOf();
    const byMonth = new Map<number, Row[]>();
    const copies = firstCopies();
    for (const event of batch) {
      if (!copies.isFirst(event)) continue;
      const month = monthOf(event.timeMs);
      const { source, id, type, subject, timeMs, data, cost, decision } = event;
      const line = JSON.stringify([source, id, type, subject, clickHouseTime(timeMs), data, cost, decision, writeId, dedupeUntil, fenceKey, fenceToken]);
      const rows = byMonth.get(month);
      if (rows) rows.push({ event, line });
      else byMonth.set(month, [{ event, line }]);
    }
    const refused: RefusedEvent[] = [];
    const months = [...byMonth.values()];
    let statement = 0;
    for (let i = 0; i < months.length; i += MONTHS_PER_INSERT) {
      const rows = months.slice(i, i + MONTHS_PER_INSERT).flat();
      refused.push(...(await this.#isolate(rows, fence, writeId, () => statement++)));
    }
    const { inserted, owner } = copies.count === 0 && !fence ? { inserted: 0, owner: '' } : await this.#receipt(writeId, fence);
    if (fence && owner !== fence.token) throw new WriteFencedError(fence, inserted);
    return { inserted, alreadyPresent: batch.length - inserted - refused.length, refused };
  }

  /**
   * Inserts `rows`; when ClickHouse refuses them for their content, splits them (at the row it
   * names, else in halves) and tries again, until each refused event stands alone. What a failed
   * statement stored already is recognised by the next one, like any stored key.
   */
  async #isolate(rows: Row[], fence: WriteFence | undefined, writeId: string, nextPart: () => number): Promise<RefusedEvent[]> {
    try {
      // The rows go as text (the client's insert takes JSON rows only as objects to serialise).
      const { stream } = await this.#ch.exec({
        query: INSERT_LANDING,
        values: body(rows),
        query_id: writeQueryId(fence, writeId, nextPart()),
      });
      await finished(stream.resume());
      return [];
    } catch (err) {
      const problem = rowProblem(err);
      const [first] = rows;
      if (!problem || !first) throw err;
      if (rows.length === 1) return [{ event: first.event, reason: problem.reason }];
      const named = problem.row !== undefined && problem.row <= rows.length ? problem.row - 1 : undefined;
      const parts =
        named === undefined
          ? [rows.slice(0, rows.length >> 1), rows.slice(rows.length >> 1)]
          : [rows.slice(0, named), rows.slice(named, named + 1), rows.slice(named + 1)];
      const refused: RefusedEvent[] = [];
      for (const part of parts) if (part.length > 0) refused.push(...(await this.#isolate(part, fence, writeId, nextPart)));
      return refused;
    }
  }

  /** How many events the write stored (its receipt) and, with a claim, the stream's owner now: one query after the write. */
  async #receipt(writeId: string, fence: WriteFence | undefined): Promise<{ inserted: number; owner: string }> {
    const result = await this.#ch.query({
      query: `SELECT (SELECT sum(events) FROM write_receipts WHERE write_id = {w:String}) AS n,
        (SELECT argMax(token, (seq, token)) FROM write_fences WHERE fence_key = {key:String}) AS owner`,
      query_params: { w: writeId, key: fence?.key ?? '' },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string | number | null; owner: string | null }>();
    return { inserted: Number(row?.n ?? 0), owner: row?.owner ?? '' };
  }
}
