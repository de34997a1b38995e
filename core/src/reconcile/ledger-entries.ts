import type { ClickHouseClient } from '@clickhouse/client';
import type { PendingChange } from '../credits/credit-store.ts';
import { minuteToDateTime } from '../clickhouse/time.ts';
import { chargeCause, driftCause, type DriftCause } from './drift-cause.ts';
import { queryRows as rows } from '../clickhouse/sql-query.ts';
import { lastRestoreSql, settledUsageSql, usageByMinuteSql } from './reconcile-sql.ts';

/** A ledger entry: one reason the balance moved, besides top-ups and real-time debits. */
export interface Adjustment {
  /** The entry's own id (its change's id, or that id + ':metered'): a retried write folds into one. */
  changeId: string;
  subject: string;
  watermarkMinute: number;
  previousWatermarkMinute: number | undefined;
  amount: number;
  cause: DriftCause;
  details: { before: number; after: number; debited: number; metered: number; unverified: number } & Record<string, number | boolean>;
}

/** Facts about the restore run that made the changes (written into restore entries). */
export interface RestoreRunFacts {
  detectedAtMs: number;
  /** The metering path had stored every event produced before the loss when the restore read ClickHouse. */
  caughtUp: boolean;
}

const sum = (m: ReadonlyMap<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/**
 * The entries a change owes, with their amounts, so that grants + adjustments = balance +
 * real-time debits (settled and unsettled) holds after it:
 * - a restore: the restored balance minus the balance the ledger implied (what the loss and the
 *   restore changed together: the unrecorded wipe of balance and unsettled debits, and what the
 *   restore charged from metering);
 * - a sync: the settlement (after − before, without this change's charges from metering), and
 *   the charge from metering (−raised) as an entry of its own, each with one cause.
 */
export const entryAmounts = (change: PendingChange): { id: string; amount: number; part: 'restore' | 'settle' | 'charge' }[] => {
  if (change.kind === 'restore') return [{ id: change.changeId, amount: change.after - (change.implied ?? change.before), part: 'restore' }];
  const raised = sum(change.raised);
  const settle = change.after - change.before + raised;
  return [
    ...(settle !== 0 ? [{ id: change.changeId, amount: settle, part: 'settle' as const }] : []),
    ...(raised !== 0 ? [{ id: `${change.changeId}:metered`, amount: -raised, part: 'charge' as const }] : []),
  ];
};

/** The window of usage a change settled: from the watermark it moved from (0: none) to its own. */
const windowOf = (change: PendingChange) => {
  const to = change.watermarkMinute;
  const from = Math.min(change.previousWatermarkMinute ?? 0, to);
  return { from, to, key: `${from}:${to}` };
};

type Pending = { subject: string; change: PendingChange };

/** The usage evidence of the changes: per settled window, per minute charged from metering, and each subject's latest restore. */
const readEvidence = async (ch: ClickHouseClient, changes: readonly Pending[]) => {
  const subjects = [...new Set(changes.map((c) => c.subject))];
  const byWindow = new Map<string, { from: number; to: number; subjects: Set<string> }>();
  let firstCharged = Infinity;
  for (const { subject, change } of changes) {
    const { from, to, key } = windowOf(change);
    const window = byWindow.get(key) ?? { from, to, subjects: new Set<string>() };
    window.subjects.add(subject);
    byWindow.set(key, window);
    for (const minute of change.raised.keys()) firstCharged = Math.min(firstCharged, minute);
  }
  const settled = new Map<string, { metered: number; unverified: number }>();
  const minutes = new Map<string, { metered: number; unverified: number }>();
  const restored = new Map<string, number>();
  type Usage = { subject: string; metered: string | number; unverified: string | number };
  await Promise.all([
    ...[...byWindow].map(async ([key, { from, to, subjects: s }]) => {
      for (const u of await rows<Usage>(ch, settledUsageSql([...s], from, to))) {
        settled.set(`${key}:${u.subject}`, { metered: Number(u.metered), unverified: Number(u.unverified) });
      }
    }),
    (async () => {
      if (firstCharged === Infinity) return;
      for (const u of await rows<Usage & { minute: string | number }>(ch, usageByMinuteSql(subjects, firstCharged))) {
        minutes.set(`${u.subject}:${u.minute}`, { metered: Number(u.metered), unverified: Number(u.unverified) });
      }
    })(),
    (async () => {
      for (const r of await rows<{ subject: string; minute: string | number }>(ch, lastRestoreSql(subjects))) restored.set(r.subject, Number(r.minute));
    })(),
  ]);
  return { settled, minutes, restored };
};

/** Explains pending changes: each entry gets the cause its evidence supports. */
export const explainChanges = async (ch: ClickHouseClient, pending: readonly Pending[], run?: RestoreRunFacts): Promise<Adjustment[]> => {
  // Most changes only settle debits as metered: they owe no entry, and need no evidence.
  const changes = pending.filter(({ change }) => entryAmounts(change).length > 0);
  if (changes.length === 0) return [];
  const { settled, minutes, restored } = await readEvidence(ch, changes);
  return changes.flatMap(({ subject, change }) => {
    const base = { subject, watermarkMinute: change.watermarkMinute, previousWatermarkMinute: change.previousWatermarkMinute };
    const restoreMinute = restored.get(subject);
    const window = windowOf(change);
    const usage = settled.get(`${window.key}:${subject}`) ?? { metered: 0, unverified: 0 };
    const raised = sum(change.raised);
    return entryAmounts(change).map(({ id, amount, part }): Adjustment => {
      if (part === 'restore') {
        const implied = change.implied ?? change.before;
        return {
          ...base,
          changeId: id,
          amount,
          cause: 'restore',
          details: {
            before: implied,
            after: change.after,
            debited: change.debited,
            ...usage,
            storeBefore: change.before,
            raised,
            ...(run ? { detectedAt: run.detectedAtMs, caughtUp: run.caughtUp } : {}),
          },
        };
      }
      if (part === 'settle') {
        const debited = change.debited + change.settledFromMetering;
        const beforeRestore = restoreMinute !== undefined && window.from <= restoreMinute;
        return {
          ...base,
          changeId: id,
          amount,
          cause: driftCause({ drift: amount, debited, metered: usage.metered, unverified: usage.unverified, beforeRestore }),
          details: { before: change.before, after: change.before + amount, debited, ...usage },
        };
      }
      const charged = [...change.raised.keys()].map((m) => minutes.get(`${subject}:${m}`) ?? { metered: 0, unverified: 0 });
      const unverified = charged.reduce((a, u) => a + u.unverified, 0);
      const beforeRestore = restoreMinute !== undefined && [...change.raised.keys()].some((m) => m <= restoreMinute);
      return {
        ...base,
        changeId: id,
        amount,
        cause: chargeCause({ unverified, beforeRestore }),
        details: { before: change.after + raised, after: change.after, debited: 0, metered: charged.reduce((a, u) => a + u.metered, 0), unverified },
      };
    });
  });
};

/**
 * Writes what pending changes owe the ledger: their settled real-time debits (under the change's
 * id) first, then their entries. Both are read once per id, so writing a change twice (a retry,
 * two replicas) counts once.
 */
export const writeChanges = async (ch: ClickHouseClient, changes: readonly Pending[], adjustments: readonly Adjustment[]): Promise<void> => {
  const settled = changes.flatMap(({ subject, change }) =>
    [...change.settled].map(([minute, cost]) => ({
      subject,
      minute: minuteToDateTime(minute),
      cost,
      watermark: minuteToDateTime(change.watermarkMinute),
      change_id: change.changeId,
    })),
  );
  if (settled.length > 0) await ch.insert({ table: 'realtime_debits', format: 'JSONEachRow', values: settled });
  if (adjustments.length === 0) return;
  await ch.insert({
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
};
