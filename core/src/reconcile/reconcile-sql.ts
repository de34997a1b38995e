/**
 * The SQL of reconciliation, as pure functions: each returns the statement and its
 * parameters (never string-built values), so tests pin both exactly.
 */
import type { SqlQuery } from '../clickhouse/sql-query.ts';
import { clickHouseTime, minuteToDateTime } from '../clickhouse/time.ts';

export type { SqlQuery };


/**
 * Per subject of the batch, in one scan of each table: Σ grants (one per idempotency key — the
 * earliest row, as readers of credit_grants take it) and Σ metered cost in the one-minute
 * windows before the watermark, in the row of minute 0; and the metered cost of each minute at
 * or after the watermark, in a row of that minute. A subject with neither has no row.
 */
export const targetsSql = (subjects: readonly string[], watermarkMinute: number): SqlQuery => ({
  // Summed as Int128 and read as text, so no sum wraps or is rounded; the caller checks the range.
  query: `SELECT subject, minute, toString(sum(granted)) AS granted, toString(sum(metered)) AS metered FROM (
  SELECT subject, toUInt32(0) AS minute, toInt128(argMin(amount, created_at)) AS granted, toInt128(0) AS metered
  FROM credit_grants WHERE subject IN {subjects:Array(String)}
  GROUP BY subject, idempotency_key
  UNION ALL
  SELECT subject, toUInt32(if(window_start < {watermark:DateTime('UTC')}, 0, toUnixTimestamp(window_start) DIV 60)) AS minute,
    toInt128(0) AS granted, sum(toInt128(cost)) AS metered
  FROM usage_1m WHERE subject IN {subjects:Array(String)}
  GROUP BY subject, minute
) GROUP BY subject, minute`,
  params: { subjects: [...subjects], watermark: minuteToDateTime(watermarkMinute) },
});

/**
 * The grants of the batch created since a time, one per idempotency key with the body hash
 * of its earliest row: the store marks them applied as it counts them, so a top-up between
 * its durable write and its apply does not add one twice.
 */
export const recentGrantsSql = (subjects: readonly string[], sinceMs: number): SqlQuery => ({
  query: `SELECT subject, idempotency_key, argMin(body_hash, created_at) AS body_hash
FROM credit_grants
WHERE subject IN {subjects:Array(String)} AND created_at >= {since:DateTime64(3, 'UTC')}
GROUP BY subject, idempotency_key`,
  params: { subjects: [...subjects], since: clickHouseTime(sinceMs) },
});

/** Late events older than this before `since` are left to the full sweep; it bounds the incremental scan. */
export const INCREMENTAL_LATENESS_MS = 86_400_000;

/**
 * Subjects to reconcile: with `sinceMs`, those with events stored (ingested) or grants
 * created since then — by arrival, not event time, so an event that arrives late for a
 * settled minute still brings its subject back (incremental); without, every subject with
 * usage or grants (full sweep). Sorted, so batches are stable.
 */
export const activeSubjectsSql = (sinceMs?: number): SqlQuery =>
  sinceMs === undefined
    ? {
        query: `SELECT DISTINCT subject FROM (
  SELECT subject FROM usage_1m
  UNION ALL
  SELECT subject FROM credit_grants
) ORDER BY subject`,
        params: {},
      }
    : {
        query: `SELECT DISTINCT subject FROM (
  SELECT subject FROM events WHERE time >= {earliest:DateTime64(3, 'UTC')} AND ingested_at >= {since:DateTime64(3, 'UTC')}
  UNION ALL
  SELECT subject FROM credit_grants WHERE created_at >= {since:DateTime64(3, 'UTC')}
) ORDER BY subject`,
        params: { since: clickHouseTime(sinceMs), earliest: clickHouseTime(sinceMs - INCREMENTAL_LATENESS_MS) },
      };

/**
 * Metered and unverified cost of each subject in the windows a run settled, [previous, W):
 * the evidence for a drift's cause. Without a previous watermark, from the beginning.
 */
export const settledUsageSql = (subjects: readonly string[], fromMinute: number, watermarkMinute: number): SqlQuery => ({
  query: `SELECT subject, sum(cost) AS metered, sum(unverified_cost) AS unverified
FROM usage_1m
WHERE subject IN {subjects:Array(String)} AND window_start >= {from:DateTime('UTC')} AND window_start < {watermark:DateTime('UTC')}
GROUP BY subject`,
  params: { subjects: [...subjects], from: minuteToDateTime(fromMinute), watermark: minuteToDateTime(watermarkMinute) },
});

/** The windows of the reconciliation report: whole minutes each (a meter's MONTH is not). */
export type ReportWindowSize = 'MINUTE' | 'HOUR' | 'DAY';
export const REPORT_WINDOW_MINUTES: Record<ReportWindowSize, number> = { MINUTE: 1, HOUR: 60, DAY: 1_440 };

/** Per window of one subject in [from, to): metered cost, unverified cost and event count (UTC windows). */
export const usageWindowsSql = (subject: string, fromMinute: number, toMinute: number, windowSize: ReportWindowSize): SqlQuery => ({
  query: `SELECT toUnixTimestamp(toStartOfInterval(window_start, INTERVAL {size:UInt32} MINUTE)) DIV 60 AS window_minute,
  sum(cost) AS metered, sum(unverified_cost) AS unverified, sum(events) AS events
FROM usage_1m
WHERE subject = {subject:String} AND window_start >= {from:DateTime('UTC')} AND window_start < {to:DateTime('UTC')}
GROUP BY window_minute ORDER BY window_minute`,
  params: { subject, size: REPORT_WINDOW_MINUTES[windowSize], from: minuteToDateTime(fromMinute), to: minuteToDateTime(toMinute) },
});

/**
 * The settled real-time debits, each once: rows are written under their change's id, and a
 * change whose write was retried has its rows twice. (Rows from before change ids were
 * written, with an empty id, were written once each and are taken as they are.)
 */
const SETTLED_ONCE = `SELECT subject, minute, any(cost) AS cost FROM realtime_debits WHERE change_id != '' AND %WHERE% GROUP BY subject, change_id, minute
  UNION ALL
  SELECT subject, minute, cost FROM realtime_debits WHERE change_id = '' AND %WHERE%`;
const settledOnce = (where: string) => SETTLED_ONCE.replaceAll('%WHERE%', where);

/** Per window of one subject in [from, to): the real-time debits reconciliation settled (UTC windows). */
export const settledDebitsSql = (subject: string, fromMinute: number, toMinute: number, windowSize: ReportWindowSize): SqlQuery => ({
  query: `SELECT toUnixTimestamp(toStartOfInterval(minute, INTERVAL {size:UInt32} MINUTE)) DIV 60 AS window_minute, sum(cost) AS debited
FROM (
  ${settledOnce("subject = {subject:String} AND minute >= {from:DateTime('UTC')} AND minute < {to:DateTime('UTC')}")}
)
GROUP BY window_minute ORDER BY window_minute`,
  params: { subject, size: REPORT_WINDOW_MINUTES[windowSize], from: minuteToDateTime(fromMinute), to: minuteToDateTime(toMinute) },
});

/** Drift entries of one subject whose watermark falls in [from, to), oldest first; a retried write counts once. */
export const adjustmentsSql = (subject: string, fromMinute?: number, toMinute?: number): SqlQuery => ({
  query: `SELECT change_id, toUnixTimestamp(watermark) DIV 60 AS watermark_minute,
  toUnixTimestamp(argMax(previous_watermark, created_at)) DIV 60 AS previous_minute,
  argMax(amount, created_at) AS amount, argMax(cause, created_at) AS cause, argMax(details, created_at) AS details,
  max(created_at) AS recorded_at
FROM ledger_adjustments
WHERE subject = {subject:String}${fromMinute === undefined ? '' : ` AND watermark >= {from:DateTime('UTC')}`}${
    toMinute === undefined ? '' : ` AND watermark < {to:DateTime('UTC')}`
  }
GROUP BY change_id, watermark
ORDER BY watermark, recorded_at`,
  params: {
    subject,
    ...(fromMinute === undefined ? {} : { from: minuteToDateTime(fromMinute) }),
    ...(toMinute === undefined ? {} : { to: minuteToDateTime(toMinute) }),
  },
});

/**
 * Metered and unverified cost per subject and minute from `fromMinute` on: what each minute at
 * or after the watermark must at least be charged, and the evidence of a charge from metering.
 */
export const usageByMinuteSql = (subjects: readonly string[], fromMinute: number): SqlQuery => ({
  query: `SELECT subject, toUnixTimestamp(window_start) DIV 60 AS minute, sum(cost) AS metered, sum(unverified_cost) AS unverified
FROM usage_1m
WHERE subject IN {subjects:Array(String)} AND window_start >= {from:DateTime('UTC')}
GROUP BY subject, minute`,
  params: { subjects: [...subjects], from: minuteToDateTime(fromMinute) },
});

/**
 * Per subject, what the ledger holds: Σ grants (one per idempotency key), Σ adjustments (one
 * per entry id) and Σ settled real-time debits (each once): grants + adjustments − settled is
 * the balance the ledger implies, before the debits not settled yet.
 */
export const ledgerTotalsSql = (subjects: readonly string[]): SqlQuery => ({
  // Summed as Int128 and read as text, like the targets: no sum wraps or is rounded.
  query: `SELECT subject, toString(sum(granted)) AS granted, toString(sum(adjusted)) AS adjusted, toString(sum(settled)) AS settled FROM (
  SELECT subject, toInt128(argMin(amount, created_at)) AS granted, toInt128(0) AS adjusted, toInt128(0) AS settled
  FROM credit_grants WHERE subject IN {subjects:Array(String)}
  GROUP BY subject, idempotency_key
  UNION ALL
  SELECT subject, toInt128(0) AS granted, toInt128(argMax(amount, created_at)) AS adjusted, toInt128(0) AS settled
  FROM ledger_adjustments WHERE subject IN {subjects:Array(String)}
  GROUP BY subject, change_id
  UNION ALL
  SELECT subject, toInt128(0) AS granted, toInt128(0) AS adjusted, toInt128(cost) AS settled FROM (
    ${settledOnce('subject IN {subjects:Array(String)}')}
  )
) GROUP BY subject`,
  params: { subjects: [...subjects] },
});

/**
 * Per subject, the minute of its latest restore: when its loss was noticed (the entry's
 * detectedAt), or when the entry was written. Usage metered later for earlier minutes came from
 * calls answered before the loss.
 */
export const lastRestoreSql = (subjects: readonly string[]): SqlQuery => ({
  query: `SELECT subject, max(if(JSONHas(details, 'detectedAt'), intDiv(JSONExtractInt(details, 'detectedAt'), 60000), toUnixTimestamp(created_at) DIV 60)) AS minute
FROM ledger_adjustments
WHERE subject IN {subjects:Array(String)} AND cause = 'restore'
GROUP BY subject`,
  params: { subjects: [...subjects] },
});

/** Which of these change ids the ledger holds already: entries (ledger_adjustments) and settled debits (realtime_debits). */
export const writtenChangesSql = (subject: string, changeIds: readonly string[]): SqlQuery => ({
  query: `SELECT DISTINCT 'entry' AS kind, change_id FROM ledger_adjustments WHERE subject = {subject:String} AND change_id IN {ids:Array(String)}
UNION ALL
SELECT DISTINCT 'settled' AS kind, change_id FROM realtime_debits WHERE subject = {subject:String} AND change_id IN {ids:Array(String)}`,
  params: { subject, ids: [...changeIds] },
});
