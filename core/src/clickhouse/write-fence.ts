import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';

/**
 * A writer's claim on a stream of events (the sink: one topic-partition), so that a writer that
 * lost the stream while it was paused cannot store what the new owner stores too.
 *
 * Why no event is stored twice by two owners of one stream (the argument the tests try):
 * - A write is one INSERT. The landing view checks, per inserted block and inside that statement,
 *   that the row's token is the stream's newest claim and that its (source, id) is not stored yet;
 *   the check and the insert share the statement, so a pause of the client cannot fall between them.
 * - A new owner B claims (INSERT of the next seq), then waits until no statement of the stream
 *   with another token is running (`system.processes`), and only then writes.
 * - Take a statement X of the old owner A. ClickHouse lists X in its process list before X reads
 *   anything. If X read the claims before B's claim was committed, X was listed before B read
 *   the process list, so B waits until X has ended and B's own check sees what X stored. If X read
 *   the claims after B's claim, X's rows are dropped. Either way no key is stored by both, whether
 *   X's view sees the claims as of its start or of each block, and however long A pauses.
 * - A claim's seq is the stream's highest plus one; two claims racing for one seq are ordered by
 *   token, so exactly one claim is the newest at any time, and the winner never changes later.
 * Bound: one ClickHouse server (the process list is per server). Inserts must be synchronous
 * (`async_insert = 0`): an asynchronous insert is flushed by a background task outside the list.
 */
export interface WriteFence {
  /** The stream, e.g. `api-calls/3`. */
  key: string;
  /** This claim's token; the writer's statements carry it in their query id. */
  token: string;
}

/** The writer's claim was superseded: another writer owns the stream now. Commit nothing; claim again before writing. */
export class WriteFencedError extends Error {
  readonly fence: WriteFence;
  /** Events this write stored before its claim was superseded (stored once; the new owner finds them). */
  readonly inserted: number;
  constructor(fence: WriteFence, inserted: number) {
    super(`the claim on ${fence.key} was superseded by another writer's`);
    this.name = 'WriteFencedError';
    this.fence = fence;
    this.inserted = inserted;
  }
}

const QUERY_PREFIX = 'tollgate-write';

/** The query id of one write statement: the process list shows whose it is. */
export const writeQueryId = (fence: WriteFence | undefined, writeId: string, part: number): string =>
  fence ? `${QUERY_PREFIX}/${fence.key}/${fence.token}/${writeId}/${part}` : `${QUERY_PREFIX}//-/${writeId}/${part}`;

/** The stream's newest claim's token ('' when it has none). */
export const ownerOf = async (ch: ClickHouseClient, key: string): Promise<string> => {
  const result = await ch.query({
    query: 'SELECT argMax(token, (seq, token)) AS owner FROM write_fences WHERE fence_key = {key:String}',
    query_params: { key },
    format: 'JSONEachRow',
  });
  return (await result.json<{ owner: string }>())[0]?.owner ?? '';
};

const othersRunning = async (ch: ClickHouseClient, fence: WriteFence): Promise<number> => {
  const result = await ch.query({
    query: `SELECT count() AS n FROM system.processes
      WHERE startsWith(query_id, {stream:String}) AND NOT startsWith(query_id, {mine:String})`,
    query_params: { stream: `${QUERY_PREFIX}/${fence.key}/`, mine: `${QUERY_PREFIX}/${fence.key}/${fence.token}/` },
    format: 'JSONEachRow',
  });
  return Number((await result.json<{ n: string | number }>())[0]?.n ?? 0);
};

export interface ClaimOptions {
  /** Called on each poll while an older writer's statement still runs (the sink heartbeats here). */
  onWait?: () => Promise<void>;
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Claims `key` for a new writer and resolves once no other writer's statement on it still runs;
 * from then on that writer's rows are the only ones of the stream ClickHouse stores.
 */
export const claimWriteFence = async (ch: ClickHouseClient, key: string, { onWait, pollMs = 100, signal }: ClaimOptions = {}): Promise<WriteFence> => {
  const fence = { key, token: randomUUID() };
  await ch.command({
    query: `INSERT INTO write_fences (fence_key, seq, token)
      SELECT {key:String}, (SELECT max(seq) FROM write_fences WHERE fence_key = {key:String}) + 1, {token:String}`,
    query_params: { key, token: fence.token },
    clickhouse_settings: { async_insert: 0 },
  });
  while ((await othersRunning(ch, fence)) > 0) {
    signal?.throwIfAborted();
    await onWait?.();
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return fence;
};
