import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { CountedGrant, CreditStore, ReconcileResult } from '../credits/credit-store.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics/metrics.ts';
import { driftCause, type DriftCause } from './drift-cause.ts';
import { minuteToDateTime } from '../clickhouse/time.ts';
import { recentGrantsSql, settledUsageSql, targetsSql, type SqlQuery } from './reconcile-sql.ts';

export interface ReconcileOptions {
  clickhouse: ClickHouseClient;
  store: CreditStore;
  subjects: readonly string[];
  /** Epoch minute: windows before it are settled. */
  watermarkMinute: number;
  /** Subjects per ClickHouse query and per round of store calls. */
  batchSize?: number;
  /** Grants created this recently are marked applied as they are counted (a top-up may still be applying them). */
  inFlightGrantsMs?: number;
  now?: () => number;
  logger?: Logger | undefined;
}

export interface Adjustment {
  /** This balance change's own id: a retried write of the entry folds into one. */
  changeId: string;
  subject: string;
  watermarkMinute: number;
  previousWatermarkMinute: number | undefined;
  amount: number;
  cause: DriftCause;
  details: { before: number; after: number; debited: number; metered: number; unverified: number };
}

export interface ReconcileSummary {
  subjects: number;
  applied: number;
  /** Subjects where a newer watermark was applied already (another worker is ahead). */
  stale: number;
  adjustments: Adjustment[];
  clickhouseMs: number;
  storeMs: number;
}

const rows = async <T>(ch: ClickHouseClient, { query, params }: SqlQuery): Promise<T[]> =>
  (await ch.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();

const sumOf = (buckets: Map<number, number>) => [...buckets.values()].reduce((a, b) => a + b, 0);

/** Explains the non-zero drifts of a batch with the usage of the windows each run settled. */
const explain = async (ch: ClickHouseClient, watermarkMinute: number, drifted: [string, ReconcileResult][]): Promise<Adjustment[]> => {
  // Subjects are grouped by the window they settled: one query per distinct previous watermark.
  const byFrom = new Map<number, string[]>();
  for (const [subject, r] of drifted) {
    const from = r.previousWatermark ?? 0;
    byFrom.set(from, [...(byFrom.get(from) ?? []), subject]);
  }
  const usage = new Map<string, { metered: number; unverified: number }>();
  for (const [from, subjects] of byFrom) {
    const found = await rows<{ subject: string; metered: string | number; unverified: string | number }>(
      ch,
      settledUsageSql(subjects, Math.min(from, watermarkMinute), watermarkMinute),
    );
    for (const u of found) usage.set(u.subject, { metered: Number(u.metered), unverified: Number(u.unverified) });
  }
  return drifted.map(([subject, r]) => {
    const { metered = 0, unverified = 0 } = usage.get(subject) ?? {};
    const debited = sumOf(r.droppedBuckets);
    return {
      changeId: randomUUID(),
      subject,
      watermarkMinute,
      previousWatermarkMinute: r.previousWatermark,
      amount: r.drift,
      cause: driftCause({ drift: r.drift, debited, metered, unverified }),
      details: { before: r.before, after: r.after, debited, metered, unverified },
    };
  });
};

/**
 * Reconciles subjects in batches; per batch:
 * 1. ClickHouse, one round: Σ grants and Σ metered cost before W per subject, and the recent
 *    grants (marked applied by the store as it counts them).
 * 2. Per subject, one atomic store call (reconcile.lua); the calls of a batch go out together.
 * 3. Non-zero drift of an applied run → a ledger entry, one per balance change: a re-run at
 *    the same watermark with the same truth finds nothing to change and writes nothing, and
 *    the table's Replacing engine folds a retried insert of the same change.
 * A failure stops the run; every step is safe to run again.
 */
export const reconcileSubjects = async ({
  clickhouse,
  store,
  subjects,
  watermarkMinute,
  batchSize = 1_000,
  inFlightGrantsMs = 86_400_000,
  now = Date.now,
  logger,
}: ReconcileOptions): Promise<ReconcileSummary> => {
  const summary: ReconcileSummary = { subjects: subjects.length, applied: 0, stale: 0, adjustments: [], clickhouseMs: 0, storeMs: 0 };
  for (let i = 0; i < subjects.length; i += batchSize) {
    const batch = subjects.slice(i, i + batchSize);
    let started = performance.now();
    const [totals, recent] = await Promise.all([
      rows<{ subject: string; granted: string | number; metered: string | number }>(clickhouse, targetsSql(batch, watermarkMinute)),
      rows<{ subject: string; idempotency_key: string; body_hash: string }>(clickhouse, recentGrantsSql(batch, now() - inFlightGrantsMs)),
    ]);
    summary.clickhouseMs += performance.now() - started;
    const target = new Map(totals.map((t) => [t.subject, Number(t.granted) - Number(t.metered)]));
    const counted = new Map<string, CountedGrant[]>();
    for (const g of recent) counted.set(g.subject, [...(counted.get(g.subject) ?? []), { key: g.idempotency_key, bodyHash: g.body_hash }]);

    started = performance.now();
    const results = await Promise.all(batch.map(async (s) => [s, await store.reconcile(s, target.get(s) ?? 0, watermarkMinute, counted.get(s))] as const));
    summary.storeMs += performance.now() - started;

    // The real-time debits this run settled leave Valkey; keep them for the reconciliation report.
    const settled = results.flatMap(([subject, r]) =>
      r.applied
        ? [...r.droppedBuckets].map(([minute, cost]) => ({ subject, minute: minuteToDateTime(minute), cost, watermark: minuteToDateTime(watermarkMinute) }))
        : [],
    );
    if (settled.length > 0) {
      started = performance.now();
      await clickhouse.insert({ table: 'realtime_debits', format: 'JSONEachRow', values: settled });
      summary.clickhouseMs += performance.now() - started;
    }

    const drifted: [string, ReconcileResult][] = [];
    for (const [subject, r] of results) {
      metrics.reconcileSubjects.inc({ result: r.applied ? 'applied' : 'stale' });
      if (!r.applied) summary.stale += 1;
      else summary.applied += 1;
      if (r.applied && r.drift !== 0) drifted.push([subject, r]);
    }
    if (drifted.length === 0) continue;
    started = performance.now();
    const adjustments = await explain(clickhouse, watermarkMinute, drifted);
    await clickhouse.insert({
      table: 'ledger_adjustments',
      format: 'JSONEachRow',
      values: adjustments.map((a) => ({
        subject: a.subject,
        change_id: a.changeId,
        watermark: minuteToDateTime(a.watermarkMinute),
        previous_watermark: a.previousWatermarkMinute === undefined ? null : minuteToDateTime(a.previousWatermarkMinute),
        balance_before: a.details.before,
        balance_after: a.details.after,
        amount: a.amount,
        cause: a.cause,
        details: JSON.stringify(a.details),
      })),
    });
    summary.clickhouseMs += performance.now() - started;
    for (const a of adjustments) {
      metrics.reconcileDrift.inc({ cause: a.cause }, Math.abs(a.amount));
      logger?.info('drift', { subject: a.subject, amount: a.amount, cause: a.cause, ...a.details });
    }
    summary.adjustments.push(...adjustments);
  }
  return summary;
};
