import { describe, expect, it } from 'vitest';
import { minuteToDateTime } from '../clickhouse/time.ts';
import {
  activeSubjectsSql,
  adjustmentsSql,
  lastRestoreSql,
  ledgerTotalsSql,
  recentGrantsSql,
  settledDebitsSql,
  settledUsageSql,
  targetsSql,
  usageByMinuteSql,
  usageWindowsSql,
  writtenChangesSql,
} from './reconcile-sql.ts';
import { chargeCause, driftCause } from './drift-cause.ts';

// 2026-01-15 10:30 UTC as an epoch minute.
const W = Date.UTC(2026, 0, 15, 10, 30) / 60_000;

describe('reconciliation SQL', () => {
  it('settled debits: the real-time debits reconciliation kept, per window', () => {
    expect(settledDebitsSql('tpp-1', W - 120, W, 'HOUR')).toEqual({
      query: [
        "SELECT toUnixTimestamp(toStartOfInterval(minute, INTERVAL {size:UInt32} MINUTE)) DIV 60 AS window_minute, sum(cost) AS debited",
        'FROM (',
        "  SELECT subject, minute, any(cost) AS cost FROM realtime_debits WHERE change_id != '' AND subject = {subject:String} AND minute >= {from:DateTime('UTC')} AND minute < {to:DateTime('UTC')} GROUP BY subject, change_id, minute",
        '  UNION ALL',
        "  SELECT subject, minute, cost FROM realtime_debits WHERE change_id = '' AND subject = {subject:String} AND minute >= {from:DateTime('UTC')} AND minute < {to:DateTime('UTC')}",
        ')',
        'GROUP BY window_minute ORDER BY window_minute',
      ].join('\n'),
      params: { subject: 'tpp-1', size: 60, from: '2026-01-15 08:30:00', to: '2026-01-15 10:30:00' },
    });
  });

  it('formats a watermark minute as a ClickHouse DateTime', () => {
    expect(minuteToDateTime(W)).toBe('2026-01-15 10:30:00');
  });

  it('targets: grants deduped by idempotency key, metered cost before W (minute 0) and per minute from W on, one query per batch', () => {
    const q = targetsSql(['a', 'b'], W);
    expect(q.query).toMatchInlineSnapshot(`
      "SELECT subject, minute, toString(sum(granted)) AS granted, toString(sum(metered)) AS metered FROM (
        SELECT subject, toUInt32(0) AS minute, toInt128(argMin(amount, created_at)) AS granted, toInt128(0) AS metered
        FROM credit_grants WHERE subject IN {subjects:Array(String)}
        GROUP BY subject, idempotency_key
        UNION ALL
        SELECT subject, toUInt32(if(window_start < {watermark:DateTime('UTC')}, 0, toUnixTimestamp(window_start) DIV 60)) AS minute,
          toInt128(0) AS granted, sum(toInt128(cost)) AS metered
        FROM usage_1m WHERE subject IN {subjects:Array(String)}
        GROUP BY subject, minute
      ) GROUP BY subject, minute"
    `);
    expect(q.params).toEqual({ subjects: ['a', 'b'], watermark: '2026-01-15 10:30:00' });
  });

  it('recent grants: one per key with its earliest body hash', () => {
    const q = recentGrantsSql(['a'], Date.UTC(2026, 0, 14, 10, 30));
    expect(q.query).toMatchInlineSnapshot(`
      "SELECT subject, idempotency_key, argMin(body_hash, created_at) AS body_hash
      FROM credit_grants
      WHERE subject IN {subjects:Array(String)} AND created_at >= {since:DateTime64(3, 'UTC')}
      GROUP BY subject, idempotency_key"
    `);
    expect(q.params).toEqual({ subjects: ['a'], since: '2026-01-14 10:30:00.000' });
  });

  it('active subjects: since a time (incremental) or all (full sweep)', () => {
    const since = activeSubjectsSql(Date.UTC(2026, 0, 15, 10, 28, 30, 5));
    expect(since.query).toMatchInlineSnapshot(`
      "SELECT DISTINCT subject FROM (
        SELECT subject FROM events WHERE time >= {earliest:DateTime64(3, 'UTC')} AND ingested_at >= {since:DateTime64(3, 'UTC')}
        UNION ALL
        SELECT subject FROM credit_grants WHERE created_at >= {since:DateTime64(3, 'UTC')}
      ) ORDER BY subject"
    `);
    expect(since.params).toEqual({ since: '2026-01-15 10:28:30.005', earliest: '2026-01-14 10:28:30.005' });
    const all = activeSubjectsSql();
    expect(all.query).toMatchInlineSnapshot(`
      "SELECT DISTINCT subject FROM (
        SELECT subject FROM usage_1m
        UNION ALL
        SELECT subject FROM credit_grants
      ) ORDER BY subject"
    `);
    expect(all.params).toEqual({});
  });

  it('settled usage: metered and unverified cost in [previous, W)', () => {
    const q = settledUsageSql(['a'], W - 5, W);
    expect(q.query).toMatchInlineSnapshot(`
      "SELECT subject, sum(cost) AS metered, sum(unverified_cost) AS unverified
      FROM usage_1m
      WHERE subject IN {subjects:Array(String)} AND window_start >= {from:DateTime('UTC')} AND window_start < {watermark:DateTime('UTC')}
      GROUP BY subject"
    `);
    expect(q.params).toEqual({ subjects: ['a'], from: '2026-01-15 10:25:00', watermark: '2026-01-15 10:30:00' });
  });

  it('report windows of one subject', () => {
    const q = usageWindowsSql('tpp-1', W - 120, W, 'HOUR');
    expect(q.query).toMatchInlineSnapshot(`
      "SELECT toUnixTimestamp(toStartOfInterval(window_start, INTERVAL {size:UInt32} MINUTE)) DIV 60 AS window_minute,
        sum(cost) AS metered, sum(unverified_cost) AS unverified, sum(events) AS events
      FROM usage_1m
      WHERE subject = {subject:String} AND window_start >= {from:DateTime('UTC')} AND window_start < {to:DateTime('UTC')}
      GROUP BY window_minute ORDER BY window_minute"
    `);
    expect(q.params).toEqual({ subject: 'tpp-1', size: 60, from: '2026-01-15 08:30:00', to: '2026-01-15 10:30:00' });
  });

  it('adjustments of one subject, optionally bounded', () => {
    expect(adjustmentsSql('tpp-1').params).toEqual({ subject: 'tpp-1' });
    const q = adjustmentsSql('tpp-1', W - 60, W);
    expect(q.query).toMatchInlineSnapshot(`
      "SELECT change_id, toUnixTimestamp(watermark) DIV 60 AS watermark_minute,
        toUnixTimestamp(argMax(previous_watermark, created_at)) DIV 60 AS previous_minute,
        argMax(amount, created_at) AS amount, argMax(cause, created_at) AS cause, argMax(details, created_at) AS details,
        max(created_at) AS recorded_at
      FROM ledger_adjustments
      WHERE subject = {subject:String} AND watermark >= {from:DateTime('UTC')} AND watermark < {to:DateTime('UTC')}
      GROUP BY change_id, watermark
      ORDER BY watermark, recorded_at"
    `);
    expect(q.params).toEqual({ subject: 'tpp-1', from: '2026-01-15 09:30:00', to: '2026-01-15 10:30:00' });
  });
});

describe('restore and ledger SQL', () => {
  it('usage per minute from the watermark on: metered and unverified cost', () => {
    const q = usageByMinuteSql(['a', 'b'], W);
    expect(q.query).toMatchInlineSnapshot(`
      "SELECT subject, toUnixTimestamp(window_start) DIV 60 AS minute, sum(cost) AS metered, sum(unverified_cost) AS unverified
      FROM usage_1m
      WHERE subject IN {subjects:Array(String)} AND window_start >= {from:DateTime('UTC')}
      GROUP BY subject, minute"
    `);
    expect(q.params).toEqual({ subjects: ['a', 'b'], from: '2026-01-15 10:30:00' });
  });

  it('ledger totals: grants once per key, adjustments once per entry, settled debits once per change', () => {
    const q = ledgerTotalsSql(['a']);
    expect(q.query).toMatchInlineSnapshot(`
      "SELECT subject, toString(sum(granted)) AS granted, toString(sum(adjusted)) AS adjusted, toString(sum(settled)) AS settled FROM (
        SELECT subject, toInt128(argMin(amount, created_at)) AS granted, toInt128(0) AS adjusted, toInt128(0) AS settled
        FROM credit_grants WHERE subject IN {subjects:Array(String)}
        GROUP BY subject, idempotency_key
        UNION ALL
        SELECT subject, toInt128(0) AS granted, toInt128(argMax(amount, created_at)) AS adjusted, toInt128(0) AS settled
        FROM ledger_adjustments WHERE subject IN {subjects:Array(String)}
        GROUP BY subject, change_id
        UNION ALL
        SELECT subject, toInt128(0) AS granted, toInt128(0) AS adjusted, toInt128(cost) AS settled FROM (
          SELECT subject, minute, any(cost) AS cost FROM realtime_debits WHERE change_id != '' AND subject IN {subjects:Array(String)} GROUP BY subject, change_id, minute
        UNION ALL
        SELECT subject, minute, cost FROM realtime_debits WHERE change_id = '' AND subject IN {subjects:Array(String)}
        )
      ) GROUP BY subject"
    `);
    expect(q.params).toEqual({ subjects: ['a'] });
  });

  it('the latest restore of each subject, and which changes the ledger holds', () => {
    expect(lastRestoreSql(['a']).query).toMatchInlineSnapshot(`
      "SELECT subject, max(if(JSONHas(details, 'detectedAt'), intDiv(JSONExtractInt(details, 'detectedAt'), 60000), toUnixTimestamp(created_at) DIV 60)) AS minute
      FROM ledger_adjustments
      WHERE subject IN {subjects:Array(String)} AND cause = 'restore'
      GROUP BY subject"
    `);
    expect(writtenChangesSql('a', ['c1', 'c1:metered'])).toMatchObject({ params: { subject: 'a', ids: ['c1', 'c1:metered'] } });
  });
});

describe('drift cause', () => {
  it('names the cause the evidence supports', () => {
    expect(driftCause({ drift: -3, debited: 2, metered: 5, unverified: 3 })).toBe('unverified');
    expect(driftCause({ drift: -3, debited: 2, metered: 5, unverified: 0 })).toBe('events_without_debit');
    expect(driftCause({ drift: -3, debited: 2, metered: 5, unverified: 0, beforeRestore: true })).toBe('events_after_restore');
    expect(driftCause({ drift: 4, debited: 6, metered: 2, unverified: 0 })).toBe('missing_events');
    expect(driftCause({ drift: 40, debited: 0, metered: 0, unverified: 0 })).toBe('unknown');
  });

  it('names a charge from metering: unverified calls first, then events from before a restore', () => {
    expect(chargeCause({ unverified: 2, beforeRestore: true })).toBe('unverified');
    expect(chargeCause({ unverified: 0, beforeRestore: true })).toBe('events_after_restore');
    expect(chargeCause({ unverified: 0, beforeRestore: false })).toBe('events_without_debit');
  });
});
