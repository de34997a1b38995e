import { describe, expect, it } from 'vitest';
import { PartitionOwnership } from './partition-ownership.ts';

describe('PartitionOwnership', () => {
  it('keeps a batch of generation g valid while its partition stays assigned without a break', () => {
    const o = new PartitionOwnership(9_000);
    o.assign([0, 1, 2], 1, 0);
    expect([o.owns(0, 1, 10), o.owns(2, 1, 10), o.owns(3, 1, 10)]).toEqual([true, true, false]);
    // Generation 2 keeps 0 and 1: batches of generation 1 are still theirs; 2 moved away.
    expect(o.assign([0, 1], 2, 100)).toEqual([2]);
    expect([o.owns(0, 1, 200), o.owns(1, 2, 200), o.owns(2, 1, 200)]).toEqual([true, true, false]);
    // 2 comes back in generation 3: a batch fetched in generation 1 is not its to write any more
    // (another member may have written and committed it in generation 2).
    o.assign([0, 1, 2], 3, 300);
    expect([o.owns(2, 1, 400), o.owns(2, 3, 400), o.owns(0, 1, 400)]).toEqual([false, true, true]);
    // A generation from the future (not joined yet) is not owned either.
    expect(o.owns(0, 4, 400)).toBe(false);
  });

  it('owns nothing once the coordinator has not confirmed the member for the stale limit (a paused process)', () => {
    const o = new PartitionOwnership(9_000);
    o.assign([0], 5, 1_000);
    expect(o.owns(0, 5, 9_999)).toBe(true);
    expect(o.owns(0, 5, 10_000)).toBe(false);
    o.confirm(12_000); // a heartbeat of the current generation went through
    expect(o.owns(0, 5, 20_999)).toBe(true);
    o.clear();
    expect(o.owns(0, 5, 13_000)).toBe(false);
  });

  it('invalidates the fetch position of revoked and cleared partitions', () => {
    const o = new PartitionOwnership(1_000);
    o.assign([0, 1], 1, 0);
    const [e0, e1] = [o.epoch(0), o.epoch(1)];
    o.assign([0], 2, 0);
    expect([o.epoch(0), o.epoch(1)]).toEqual([e0, e1 + 1]);
    o.clear();
    expect(o.epoch(0)).toBe(e0 + 1);
    expect(o.partitions).toEqual([]);
  });
});
