import type { ClickHouseClient } from '@clickhouse/client';
import type { StoredEvent } from '../events/validate-event.ts';
import { clickHouseTime } from './time.ts';

export interface WriteResult {
  inserted: number;
  /** Events whose (source, id) was already stored, or repeated within the batch. */
  alreadyPresent: number;
}

const keyOf = (e: { source: string; id: string }) => `${e.source}\u0000${e.id}`;

// ~2,000 ids of up to a few dozen characters stay well inside ClickHouse's 1 MiB URI limit.
const LOOKUP_SLICE = 2_000;

/** Which of these events are already stored. Matched on the pair here: the query narrows by id only. */
const storedKeys = async (ch: ClickHouseClient, events: StoredEvent[]): Promise<string[]> => {
  let min = Infinity;
  let max = -Infinity;
  const subjects = new Set<string>();
  for (const e of events) {
    min = Math.min(min, e.timeMs);
    max = Math.max(max, e.timeMs);
    subjects.add(e.subject);
  }
  const result = await ch.query({
    query: `SELECT source, id FROM events
      WHERE subject IN {subjects:Array(String)}
        AND time >= {from:DateTime64(3, 'UTC')} AND time <= {to:DateTime64(3, 'UTC')}
        AND id IN {ids:Array(String)}`,
    query_params: { subjects: [...subjects], from: clickHouseTime(min), to: clickHouseTime(max), ids: events.map((e) => e.id) },
    format: 'JSONEachRow',
  });
  return (await result.json<{ source: string; id: string }>()).map(keyOf);
};

/**
 * Inserts each (source, id) once — the idempotent insert path shared by the sink and replay.
 * 1. Drop repeats within the batch.
 * 2. Ask ClickHouse which pairs are already stored. The lookup is bounded by the batch's
 *    subjects and time range, the prefix of the table's order key, so it reads few granules.
 * 3. Insert the rest in one statement; usage_1m is fed from it by the materialized view.
 * Callers must not run two writes for the same subject at once (the sink writes a partition,
 * and so a subject, from one batch at a time); a write that failed can simply be retried.
 */
export const writeEventsOnce = async (ch: ClickHouseClient, batch: StoredEvent[]): Promise<WriteResult> => {
  const unique = new Map<string, StoredEvent>();
  for (const e of batch) if (!unique.has(keyOf(e))) unique.set(keyOf(e), e);
  if (unique.size === 0) return { inserted: 0, alreadyPresent: batch.length };

  // Sorted by the table's order key, each slice covers few subjects and a narrow time range.
  const events = [...unique.values()].sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.timeMs - b.timeMs));
  const stored = new Set<string>();
  // Ids travel in the URL as a query parameter: look them up in slices.
  for (let i = 0; i < events.length; i += LOOKUP_SLICE) {
    for (const key of await storedKeys(ch, events.slice(i, i + LOOKUP_SLICE))) stored.add(key);
  }
  const fresh = events.filter((e) => !stored.has(keyOf(e)));
  if (fresh.length > 0) {
    await ch.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: fresh.map((e) => ({
        source: e.source,
        id: e.id,
        type: e.type,
        subject: e.subject,
        time: clickHouseTime(e.timeMs),
        data: e.data,
        cost: e.cost,
        decision: e.decision,
      })),
    });
  }
  return { inserted: fresh.length, alreadyPresent: batch.length - fresh.length };
};
