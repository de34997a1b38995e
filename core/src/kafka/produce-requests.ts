/** How large one produce request may get. */
export interface RequestLimits {
  /** Most records in one request: one request is encoded in one go on the event loop. */
  maxRecords: number;
  /** Most bytes of one partition's records in one request: the broker refuses a larger record batch. */
  maxPartitionBytes: number;
}

/**
 * Cuts `items` into consecutive requests, in order, so that none holds more than `maxRecords`
 * items and no partition more than `maxPartitionBytes` (an item larger than that alone goes in
 * a request of its own, for the broker to judge).
 */
export function* cutRequests<T>(
  items: Iterable<T>,
  partitionOf: (item: T) => number,
  bytesOf: (item: T) => number,
  { maxRecords, maxPartitionBytes }: RequestLimits,
): Generator<T[]> {
  let request: T[] = [];
  const bytes = new Map<number, number>();
  for (const item of items) {
    const partition = partitionOf(item);
    const size = bytesOf(item);
    const before = bytes.get(partition) ?? 0;
    if (request.length > 0 && (request.length >= maxRecords || before + size > maxPartitionBytes)) {
      yield request;
      request = [];
      bytes.clear();
    }
    bytes.set(partition, (bytes.get(partition) ?? 0) + size);
    request.push(item);
  }
  if (request.length > 0) yield request;
}
