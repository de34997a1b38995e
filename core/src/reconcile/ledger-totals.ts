import type { ClickHouseClient } from '@clickhouse/client';
import type { CreditStore } from '../credits/credit-store.ts';
import { entryAmounts } from './ledger-entries.ts';
import { queryRows as rows } from '../clickhouse/sql-query.ts';
import { ledgerTotalsSql, writtenChangesSql } from './reconcile-sql.ts';

/**
 * A subject's ledger in totals: grants + adjustments = balance + consumed, where consumed is
 * what the real-time path debited (settled by reconciliation, or still in the store). Changes
 * the store holds as pending and whose entries are not written yet are counted from the store.
 * A top-up between its durable write and its apply shows as a difference of its amount.
 */
export interface LedgerTotals {
  grants: number;
  adjustments: number;
  balance: number;
  consumed: number;
  /** Of consumed: real-time debits reconciliation settled, and those the store still holds. */
  consumedSettled: number;
  consumedUnsettled: number;
  /** grants + adjustments − balance − consumed: 0 when the ledger adds up. */
  difference: number;
}

const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

/** Rejects with StoreNotRestoredError while the store cannot vouch for the subject. */
export const readLedgerTotals = async (clickhouse: ClickHouseClient, store: CreditStore, subject: string): Promise<LedgerTotals> => {
  const account = await store.account(subject);
  const [[totals], written] = await Promise.all([
    rows<{ granted: string; adjusted: string; settled: string }>(clickhouse, ledgerTotalsSql([subject])),
    account.pending.length === 0
      ? Promise.resolve([])
      : rows<{ kind: 'entry' | 'settled'; change_id: string }>(clickhouse, writtenChangesSql(subject, account.pending.flatMap((c) => entryAmounts(c).map((e) => e.id).concat(c.changeId)))),
  ]);
  const entries = new Set(written.filter((w) => w.kind === 'entry').map((w) => w.change_id));
  const settledIds = new Set(written.filter((w) => w.kind === 'settled').map((w) => w.change_id));
  let adjustments = Number(totals?.adjusted ?? 0);
  let consumedSettled = Number(totals?.settled ?? 0);
  for (const change of account.pending) {
    for (const e of entryAmounts(change)) if (!entries.has(e.id)) adjustments += e.amount;
    if (!settledIds.has(change.changeId)) consumedSettled += change.debited;
  }
  const grants = Number(totals?.granted ?? 0);
  const consumedUnsettled = sum(account.unsettled.values());
  const consumed = consumedSettled + consumedUnsettled;
  return { grants, adjustments, balance: account.balance, consumed, consumedSettled, consumedUnsettled, difference: grants + adjustments - account.balance - consumed };
};
