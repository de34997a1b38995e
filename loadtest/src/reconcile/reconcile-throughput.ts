import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { epochMinute } from '@tollgate/core/credits';
import { ValkeyCreditStore } from '@tollgate/core/credits/valkey';
import { migrate, openClickHouse } from '@tollgate/core/clickhouse';
import { reconcileSubjects } from '@tollgate/core/ledger';
import { startValkey } from '@tollgate/testkit/valkey';
import { formatCount, reportTable, type ReportRow } from '../report/format.ts';

/**
 * Reconciling N subjects with activity (default 100,000): each has one durable grant, two
 * metered events settled before the watermark and one real-time debit at or after it. The run
 * reports the wall time and, separately, the time spent in ClickHouse queries and in Valkey,
 * then checks every balance: grant − metered − real-time debit after the watermark.
 */
export interface ReconcileThroughputResult {
  subjects: number;
  wallMs: number;
  clickhouseMs: number;
  valkeyMs: number;
  applied: number;
  wrongBalances: number;
}

const GRANT = 1_000;
const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export const runReconcileThroughput = async (n: number, log: (line: string) => void): Promise<ReconcileThroughputResult> => {
  const valkey = await startValkey();
  const dir = mkdtempSync(join(tmpdir(), 'bench-reconcile-'));
  const store = new ValkeyCreditStore({ url: valkey.url });
  const ch = openClickHouse({ dataDir: dir });
  try {
    await store.connected();
    await migrate(ch);
    const subjects = Array.from({ length: n }, (_, i) => `tpp-${String(i).padStart(6, '0')}`);
    const now = Date.now();
    const watermark = epochMinute(now) - 2;
    const settledAt = (watermark - 5) * 60_000;
    const grantedAt = now - 3 * 86_400_000; // settled grants: applied long ago

    log(`seeding ${formatCount(n)} subjects: grants and events in ClickHouse, balances and debits in Valkey`);
    for (let i = 0; i < n; i += 20_000) {
      const part = subjects.slice(i, i + 20_000);
      await ch.insert({
        table: 'credit_grants',
        format: 'JSONEachRow',
        values: part.map((s) => ({ subject: s, idempotency_key: `k-${s}`, amount: GRANT, reason: 'bench', body_hash: 'h', created_at: chTime(grantedAt) })),
      });
      await ch.insert({
        table: 'events',
        format: 'JSONEachRow',
        values: part.flatMap((s) =>
          [0, 1].map((k) => ({ source: 'bench', id: `${s}-${k}`, type: 'api.call', subject: s, time: chTime(settledAt + k), data: '{}', cost: 3, decision: 'debited' })),
        ),
      });
      await Promise.all(
        part.map(async (s) => {
          await store.applyGrant(s, `k-${s}`, 'h', GRANT);
          await store.debit(s, 3, watermark - 5); // metered since: dropped by reconciliation
          await store.debit(s, 3, watermark - 5);
          await store.debit(s, 2, watermark + 1); // real-time, not yet metered: kept
        }),
      );
    }

    log('reconciling');
    const started = performance.now();
    const summary = await reconcileSubjects({ clickhouse: ch, store, subjects, watermarkMinute: watermark, batchSize: 5_000 });
    const wallMs = performance.now() - started;

    let wrong = 0;
    for (let i = 0; i < n; i += 10_000) {
      const balances = await Promise.all(subjects.slice(i, i + 10_000).map((s) => store.balance(s)));
      wrong += balances.filter((b) => b !== GRANT - 6 - 2).length;
    }
    return { subjects: n, wallMs, clickhouseMs: summary.clickhouseMs, valkeyMs: summary.storeMs, applied: summary.applied, wrongBalances: wrong };
  } finally {
    await store.close();
    await ch.close();
    await valkey.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

export const reconcileThroughputRows = (r: ReconcileThroughputResult): ReportRow[] => [
  {
    scenario: `reconcile ${formatCount(r.subjects)} subjects`,
    measure: 'wall time (ClickHouse | Valkey)',
    baseline: '—',
    system: `${(r.wallMs / 1000).toFixed(2)} s = ${((r.wallMs * 1000) / r.subjects).toFixed(1)} µs/subject (ClickHouse ${(r.clickhouseMs / 1000).toFixed(2)} s, Valkey ${(r.valkeyMs / 1000).toFixed(2)} s)`,
    comparison: `${formatCount(r.applied)} applied, ${formatCount(r.wrongBalances)} wrong balances`,
    target: '≤ 10 s',
    verdict: r.wallMs <= 10_000 && r.wrongBalances === 0 && r.applied === r.subjects ? 'pass' : 'MISS',
  },
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await runReconcileThroughput(Number(process.env.RECONCILE_BENCH_SUBJECTS ?? 100_000), (l) => console.log(`  ${l}`));
  console.log(`\n${reportTable(reconcileThroughputRows(r))}`);
}
