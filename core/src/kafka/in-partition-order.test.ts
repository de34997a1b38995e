import { describe, expect, it } from 'vitest';
import { inPartitionOrder } from './in-partition-order.ts';

describe('inPartitionOrder', () => {
  it('keeps each partition in order, runs partitions side by side, and stops a partition at its first refusal', async () => {
    const items = [
      { p: 0, n: 1 }, { p: 1, n: 1 }, { p: 0, n: 2 }, { p: 2, n: 1 }, { p: 1, n: 2 }, { p: 0, n: 3 }, { p: 1, n: 3 },
    ];
    const log: string[] = [];
    let running = 0;
    let most = 0;
    await inPartitionOrder(items, (i) => i.p, 2, async ({ p, n }) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      log.push(`${p}:${n}`);
      return !(p === 1 && n === 2); // partition 1 refuses its second item
    });
    expect(log.filter((l) => l.startsWith('0:'))).toEqual(['0:1', '0:2', '0:3']);
    expect(log.filter((l) => l.startsWith('1:'))).toEqual(['1:1', '1:2']);
    expect(log).toContain('2:1');
    expect(most).toBe(2);
  });
});
