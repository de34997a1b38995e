/**
 * Runs `handle` over `items`, the items of one partition one after the other in their order,
 * up to `concurrency` partitions side by side. A partition stops at its first item `handle`
 * refuses (resolves false): what comes after it in that partition is not handled.
 */
export const inPartitionOrder = async <T>(
  items: readonly T[],
  partitionOf: (item: T) => number,
  concurrency: number,
  handle: (item: T) => Promise<boolean>,
): Promise<void> => {
  const byPartition = new Map<number, T[]>();
  for (const item of items) {
    const p = partitionOf(item);
    const list = byPartition.get(p);
    if (list) list.push(item);
    else byPartition.set(p, [item]);
  }
  const queue = [...byPartition.values()];
  const worker = async () => {
    for (let list = queue.shift(); list; list = queue.shift()) {
      for (const item of list) if (!(await handle(item))) break;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
};
