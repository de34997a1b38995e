import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import { TollgateError, type Logger } from '@tollgate/core';
import { epochMinute, type CreditStore } from '@tollgate/core/credits';
import { queryRows } from '@tollgate/core/clickhouse';
import { adjustmentsSql, REPORT_WINDOW_MINUTES, settledDebitsSql, usageWindowsSql, type ReportWindowSize } from '@tollgate/core/ledger';
import { parseSubject } from '../admin/top-up-request.ts';
import { parseTimestamp } from '../openmeter/query-params.ts';

const MAX_WINDOWS = 10_000;
const DEFAULT_SPAN_MS = 24 * 3_600_000;
const bad = (detail: string) => new TollgateError('BAD_REQUEST', detail);

export interface AdjustmentRow {
  change_id: string;
  watermark_minute: string | number;
  previous_minute: string | number | null;
  amount: string | number;
  cause: string;
  details: string;
  recorded_at: string;
}


const minuteIso = (minute: number) => new Date(minute * 60_000).toISOString();

/** `from`/`to` (RFC 3339; default the last 24 hours), `windowSize` (MINUTE, HOUR, DAY; default HOUR), in whole windows. */
const parseRange = (q: Record<string, string | undefined>, nowMs: number) => {
  const size = (q.windowSize ?? 'HOUR') as ReportWindowSize;
  if (!Object.hasOwn(REPORT_WINDOW_MINUTES, size)) throw bad(`windowSize must be one of ${Object.keys(REPORT_WINDOW_MINUTES).join(', ')}.`);
  const time = (name: 'from' | 'to', fallback: number) => {
    const raw = q[name];
    if (raw === undefined) return fallback;
    const ms = parseTimestamp(raw);
    if (ms === undefined) throw bad(`${name} must be an RFC 3339 date-time.`);
    return ms;
  };
  const toMs = time('to', nowMs);
  const fromMs = time('from', toMs - DEFAULT_SPAN_MS);
  if (fromMs >= toMs) throw bad('from must be before to.');
  const width = REPORT_WINDOW_MINUTES[size];
  // Windows are aligned to UTC multiples of their size, like the usage windows they sum.
  const fromMinute = Math.floor(epochMinute(fromMs) / width) * width;
  const toMinute = Math.ceil(Math.ceil(toMs / 60_000) / width) * width;
  if ((toMinute - fromMinute) / width > MAX_WINDOWS) throw bad(`At most ${MAX_WINDOWS} windows per request.`);
  return { size, width, fromMinute, toMinute };
};

/**
 * `GET /admin/v1/subjects/{subject}/reconciliation?from&to&windowSize` — per window:
 * - `metered`, `unverified`, `events`: from the usage windows in ClickHouse (the truth);
 * - `debited`: real-time debits of the window — those reconciliation settled (kept in
 *   ClickHouse when it drops them from Valkey) plus `debitedUnsettled`, those Valkey still holds;
 * - `drift`: the ledger adjustments whose watermark falls in the window (balance after −
 *   before; negative when usage was charged that real time did not debit).
 */
export const adminReconciliationRoutes = ({
  store,
  clickhouse,
  now = Date.now,
  logger,
}: {
  store: CreditStore;
  clickhouse: ClickHouseClient;
  now?: () => number;
  logger: Logger;
}) =>
  new Hono().get('/admin/v1/subjects/:subject/reconciliation', async (c) => {
    const subject = parseSubject(c.req.param('subject'));
    const { size, width, fromMinute, toMinute } = parseRange(c.req.query(), now());
    const [usage, adjustments, buckets, settled] = await Promise.all([
      queryRows<{ window_minute: string | number; metered: string | number; unverified: string | number; events: string | number }>(
        clickhouse,
        usageWindowsSql(subject, fromMinute, toMinute, size),
      ),
      queryRows<AdjustmentRow>(clickhouse, adjustmentsSql(subject, fromMinute, toMinute)),
      store.realtimeBuckets(subject),
      queryRows<{ window_minute: string | number; debited: string | number }>(clickhouse, settledDebitsSql(subject, fromMinute, toMinute, size)),
    ]).catch((err: unknown) => {
      logger.error('reconciliation report failed', { error: err instanceof Error ? err.message : String(err) });
      throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'The reconciliation report could not be read; try again.');
    });
    const windowOf = (minute: number) => Math.floor(minute / width) * width;
    const windows = new Map<number, { debited: number; debitedUnsettled: number; metered: number; unverified: number; events: number; drift: number }>();
    const at = (minute: number) => {
      let w = windows.get(minute);
      if (!w) {
        w = { debited: 0, debitedUnsettled: 0, metered: 0, unverified: 0, events: 0, drift: 0 };
        windows.set(minute, w);
      }
      return w;
    };
    for (const u of usage) Object.assign(at(Number(u.window_minute)), { metered: Number(u.metered), unverified: Number(u.unverified), events: Number(u.events) });
    for (const a of adjustments) at(windowOf(Number(a.watermark_minute))).drift += Number(a.amount);
    for (const d of settled) at(Number(d.window_minute)).debited += Number(d.debited);
    for (const [minute, cost] of buckets) {
      if (minute < fromMinute || minute >= toMinute) continue;
      const w = at(windowOf(minute));
      w.debitedUnsettled += cost;
      w.debited += cost;
    }
    return c.json({
      subject,
      from: minuteIso(fromMinute),
      to: minuteIso(toMinute),
      windowSize: size,
      windows: [...windows.entries()]
        .sort(([a], [b]) => a - b)
        .map(([minute, w]) => ({ windowStart: minuteIso(minute), windowEnd: minuteIso(minute + width), ...w })),
    });
  });
