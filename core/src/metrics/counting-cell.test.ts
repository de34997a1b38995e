import { describe, expect, it } from 'vitest';
import { countingCell, metrics, registry } from './metrics.ts';

const value = async (decision: string) =>
  (await metrics.creditDecisions.get()).values.find((v) => v.labels.decision === decision && v.labels.component === 'cell-test')?.value ?? 0;

describe('countingCell', () => {
  it('adds every increment to the counter by the time it is read, once', async () => {
    const cell = countingCell(metrics.creditDecisions, { decision: 'debited', component: 'cell-test' });
    const before = await value('debited');
    cell.inc();
    cell.inc(2);
    expect(await value('debited')).toBe(before + 3);
    expect(await value('debited')).toBe(before + 3);
    cell.inc();
    expect(await registry.metrics()).toContain(`tollgate_credit_decisions_total{decision="debited",component="cell-test"} ${before + 4}`);
  });

  it('shares the series with plain increments of the same labels', async () => {
    const cell = countingCell(metrics.creditDecisions, { decision: 'free', component: 'cell-test' });
    cell.inc();
    metrics.creditDecisions.inc({ decision: 'free', component: 'cell-test' });
    expect(await value('free')).toBe(2);
  });
});
