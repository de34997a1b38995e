import type { ClickHouseClient } from '@clickhouse/client';
import type { CountedGrant, CreditStore, PendingChange } from '../credits/credit-store.ts';
import { MAX_CREDITS } from '../credits/safe-credits.ts';
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
  /** Subjects left as they were: their target (Σ grants − Σ metered) is not a safe integer. */
  outOfRange: string[];
  adjustments: Adjustment[];
  clickhouseMs: number;
  storeMs: number;
}

const rows = async <T>(ch: ClickHouseClient, { query, params }: SqlQuery): Promise<T[]> =>
  (await ch.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();

/** The window of usage a change settled: from the watermark it moved from (0: none) to its own. */
const windowOf = (change: PendingChange) => {
  const to = change.watermarkMinute;
  const from = Math.min(change.previousWatermarkMinute ?? 0, to);
  return { from, to, key: `${from}:${to}` };
};

/** Explains pending balance changes with the usage of the window each one settled. */
const explain = async (ch: ClickHouseClient, changes: { subject: string; change: PendingChange }[]): Promise<Adjustment[]> => {
  // Changes are grouped by the window they settled: one query per distinct window.
  const byWindow = new Map<string, { from: number; to: number; subjects: Set<string> }>();
  for (const { subject, change } of changes) {
    const { from, to, key } = windowOf(change);
    const window = byWindow.get(key) ?? { from, to, subjects: new Set<string>() };
    window.subjects.add(subject);
    byWindow.set(key, window);
  }
  const usage = new Map<string, { metered: number; unverified: number }>();
  for (const [key, { from, to, subjects }] of byWindow) {
    const found = await rows<{ subject: string; metered: string | number; unverified: string | number }>(
      ch,
      settledUsageSql([...subjects], from, to),
    );
    for (const u of found) usage.set(`${key}:${u.subject}`, { metered: Number(u.metered), unverified: Number(u.unverified) });
  }
  return changes.map(({ subject, change }) => {
    const { metered = 0, unverified = 0 } = usage.get(`${windowOf(change).key}:${subject}`) ?? {};
    const drift = change.after - change.before;
    const { debited } = change;
    return {
      changeId: change.changeId,
      subject,
      watermarkMinute: change.watermarkMinute,
      previousWatermarkMinute: change.previousWatermarkMinute,
      amount: drift,
      cause: driftCause({ drift, debited, metered, unverified }),
      details: { before: change.before, after: change.after, debited, metered, unverified },
    };
  });
};

/**
 * Reconciles subjects in batches; per batch:
 * 1. ClickHouse, one round: Σ grants and Σ metered cost before W per subject, and the recent
 *    grants (marked applied by the store as it counts them).
 * 2. Per subject, one atomic store call (reconcile.lua); the calls of a batch go out together.
 * 3. Each balance change → a ledger entry under the change's own id. The store keeps a change
 *    pending, in the same atomic step as the change, until its entry is written; an entry
 *    whose write failed is written by the next run of that subject. A re-run at the same
 *    watermark with the same truth finds nothing to change, and the table's Replacing engine
 *    folds a retried insert of the same change.
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
  const summary: ReconcileSummary = { subjects: subjects.length, applied: 0, stale: 0, outOfRange: [], adjustments: [], clickhouseMs: 0, storeMs: 0 };
  for (let i = 0; i < subjects.length; i += batchSize) {
    const batch = subjects.slice(i, i + batchSize);
    let started = performance.now();
    const [totals, recent] = await Promise.all([
      rows<{ subject: string; granted: string; metered: string }>(clickhouse, targetsSql(batch, watermarkMinute)),
      rows<{ subject: string; idempotency_key: string; body_hash: string }>(clickhouse, recentGrantsSql(batch, now() - inFlightGrantsMs)),
    ]);
    summary.clickhouseMs += performance.now() - started;
    const target = new Map<string, number>();
    for (const t of totals) {
      // Exact in bigint; a target a double cannot hold exactly leaves the subject as it is.
      const exact = BigInt(t.granted) - BigInt(t.metered);
      if (exact <= BigInt(MAX_CREDITS) && exact >= -BigInt(MAX_CREDITS)) target.set(t.subject, Number(exact));
      else {
        summary.outOfRange.push(t.subject);
        metrics.reconcileSubjects.inc({ result: 'out_of_range' });
        logger?.error('reconciliation target out of range; the balance is left as it is', { subject: t.subject, granted: t.granted, metered: t.metered });
      }
    }
    const counted = new Map<string, CountedGrant[]>();
    for (const g of recent) counted.set(g.subject, [...(counted.get(g.subject) ?? []), { key: g.idempotency_key, bodyHash: g.body_hash }]);

    started = performance.now();
    const reconcilable = summary.outOfRange.length === 0 ? batch : batch.filter((s) => !summary.outOfRange.includes(s));
    const results = await Promise.all(
      reconcilable.map(async (s) => [s, await store.reconcile(s, target.get(s) ?? 0, watermarkMinute, counted.get(s))] as const),
    );
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

    for (const [, r] of results) {
      metrics.reconcileSubjects.inc({ result: r.applied ? 'applied' : 'stale' });
      if (!r.applied) summary.stale += 1;
      else summary.applied += 1;
    }
    // Every change the store holds as pending gets its ledger entry: this run's, and any whose
    // write failed in an earlier run. The store forgets a change only once its entry is written.
    const pending = results.flatMap(([subject, r]) => r.pending.map((change) => ({ subject, change })));
    if (pending.length === 0) continue;
    started = performance.now();
    const adjustments = await explain(clickhouse, pending);
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
    started = performance.now();
    const confirmed = new Map<string, string[]>();
    for (const { subject, change } of pending) {
      const ids = confirmed.get(subject) ?? [];
      ids.push(change.changeId);
      confirmed.set(subject, ids);
    }
    await Promise.all([...confirmed].map(([subject, ids]) => store.confirmChanges(subject, ids)));
    summary.storeMs += performance.now() - started;
    for (const a of adjustments) {
      metrics.reconcileDrift.inc({ cause: a.cause }, Math.abs(a.amount));
      logger?.info('drift', { subject: a.subject, amount: a.amount, cause: a.cause, ...a.details });
    }
    summary.adjustments.push(...adjustments);
  }
  return summary;
};
