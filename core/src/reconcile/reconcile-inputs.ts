import type { ClickHouseClient } from '@clickhouse/client';
import type { CountedGrant } from '../credits/credit-store.ts';
import { MAX_CREDITS } from '../credits/safe-credits.ts';
import { queryRows as rows } from '../clickhouse/sql-query.ts';
import { ledgerTotalsSql, recentGrantsSql, targetsSql } from './reconcile-sql.ts';


/** What ClickHouse says about one batch of subjects, read in one round before the store is called. */
export interface BatchInputs {
  /** Σ grants − Σ metered cost before the watermark. */
  target: Map<string, number>;
  /** Recent grants, marked applied by the store as it counts them. */
  counted: Map<string, CountedGrant[]>;
  /** Metered cost per minute at or after the watermark. */
  meteredFrom: Map<string, Map<number, number>>;
  /** In a restore: grants + adjustments − settled debits (the ledger's balance before unsettled debits). */
  ledgerBase: Map<string, number>;
  /** Subjects whose target (or ledger base) a double cannot hold exactly: left as they are. */
  outOfRange: { subject: string; granted: string; metered: string }[];
}

/** An exact sum read as text (Int128 in ClickHouse), if it is a safe integer. */
const safe = (exact: bigint): number | undefined => (exact <= BigInt(MAX_CREDITS) && exact >= -BigInt(MAX_CREDITS) ? Number(exact) : undefined);

const group = <T, V>(items: readonly T[], key: (t: T) => string, value: (t: T) => V): Map<string, V[]> => {
  const out = new Map<string, V[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(value(item));
    else out.set(k, [value(item)]);
  }
  return out;
};

export const readBatchInputs = async (
  ch: ClickHouseClient,
  batch: readonly string[],
  watermarkMinute: number,
  grantsSinceMs: number,
  restore: boolean,
): Promise<BatchInputs> => {
  const [targets, recent, ledger] = await Promise.all([
    rows<{ subject: string; minute: string | number; granted: string; metered: string }>(ch, targetsSql(batch, watermarkMinute)),
    rows<{ subject: string; idempotency_key: string; body_hash: string }>(ch, recentGrantsSql(batch, grantsSinceMs)),
    restore ? rows<{ subject: string; granted: string; adjusted: string; settled: string }>(ch, ledgerTotalsSql(batch)) : Promise.resolve([]),
  ]);
  // Minute 0: grants and usage before the watermark; other minutes: usage at or after it.
  const totals = targets.filter((t) => Number(t.minute) === 0);
  const usage = targets.filter((t) => Number(t.minute) !== 0);
  const target = new Map<string, number>();
  const outOfRange: BatchInputs['outOfRange'] = [];
  for (const t of totals) {
    // Exact in bigint; a target a double cannot hold exactly leaves the subject as it is.
    const value = safe(BigInt(t.granted) - BigInt(t.metered));
    if (value === undefined) outOfRange.push(t);
    else target.set(t.subject, value);
  }
  const ledgerBase = new Map<string, number>();
  if (restore) {
    for (const s of batch) ledgerBase.set(s, 0);
    for (const l of ledger) {
      const value = safe(BigInt(l.granted) + BigInt(l.adjusted) - BigInt(l.settled));
      if (value !== undefined) ledgerBase.set(l.subject, value);
      else if (target.has(l.subject)) {
        target.delete(l.subject);
        outOfRange.push({ subject: l.subject, granted: l.granted, metered: '0' });
      }
    }
  }
  return {
    target,
    outOfRange,
    counted: group(recent, (g) => g.subject, (g) => ({ key: g.idempotency_key, bodyHash: g.body_hash })),
    meteredFrom: new Map(
      [...group(usage, (u) => u.subject, (u) => [Number(u.minute), Number(u.metered)] as const)].map(([s, pairs]) => [s, new Map(pairs)]),
    ),
    ledgerBase,
  };
};
