import { describe, expect, it } from 'vitest';
import { PartitionLanes } from './partition-lanes.ts';

interface Item {
  p: number;
  n: number;
}

/** A handler whose items finish when the test says so, recording the order they started and ended in. */
const controlled = () => {
  const started: string[] = [];
  const ended: string[] = [];
  const pending = new Map<string, (ok: boolean) => void>();
  let running = 0;
  let most = 0;
  const handle = ({ p, n }: Item) =>
    new Promise<boolean>((resolve) => {
      const name = `${p}:${n}`;
      started.push(name);
      most = Math.max(most, ++running);
      pending.set(name, (ok) => {
        running--;
        ended.push(name);
        resolve(ok);
      });
    });
  const finish = async (name: string, ok = true) => {
    await expect.poll(() => pending.has(name), { timeout: 2_000 }).toBe(true);
    pending.get(name)?.(ok);
    pending.delete(name);
  };
  return { started, ended, handle, finish, most: () => most };
};

describe('PartitionLanes', () => {
  it('keeps each partition in order within and across calls, and a later call starts a free partition at once', async () => {
    const h = controlled();
    const lanes = new PartitionLanes<Item>(4, (i) => i.p, h.handle);
    const first = lanes.run([{ p: 0, n: 1 }, { p: 1, n: 1 }, { p: 0, n: 2 }]);
    const second = lanes.run([{ p: 1, n: 2 }, { p: 0, n: 3 }]);
    await h.finish('1:1');
    // Partition 1 is free: the second call's item starts while partition 0 of the first call still runs.
    await h.finish('1:2');
    expect(h.started).not.toContain('0:3');
    await h.finish('0:1');
    await h.finish('0:2');
    await first;
    await h.finish('0:3');
    await second;
    expect(h.ended).toEqual(['1:1', '1:2', '0:1', '0:2', '0:3']);
  });

  it('runs at most `concurrency` items at a time', async () => {
    const h = controlled();
    const lanes = new PartitionLanes<Item>(2, (i) => i.p, h.handle);
    const all = lanes.run([0, 1, 2, 3].map((p) => ({ p, n: 1 })));
    await expect.poll(() => h.started.length).toBe(2);
    expect(h.started).toEqual(['0:1', '1:1']);
    for (const name of ['0:1', '1:1']) await h.finish(name);
    await expect.poll(() => h.started.length).toBe(4);
    for (const name of ['2:1', '3:1']) await h.finish(name);
    await all;
    expect(h.most()).toBe(2);
  });

  it('stops a partition of one call at its first refusal or throw; the next call goes on', async () => {
    const seen: string[] = [];
    const lanes = new PartitionLanes<Item>(3, (i) => i.p, async ({ p, n }) => {
      seen.push(`${p}:${n}`);
      if (p === 1 && n === 2) throw new Error('refused by a throw');
      return !(p === 0 && n === 1);
    });
    await Promise.all([
      lanes.run([{ p: 0, n: 1 }, { p: 0, n: 2 }, { p: 1, n: 1 }, { p: 1, n: 2 }, { p: 1, n: 3 }]),
      lanes.run([{ p: 0, n: 3 }, { p: 1, n: 4 }]),
    ]);
    expect(seen.filter((s) => s.startsWith('0:'))).toEqual(['0:1', '0:3']);
    expect(seen.filter((s) => s.startsWith('1:'))).toEqual(['1:1', '1:2', '1:4']);
  });
});
