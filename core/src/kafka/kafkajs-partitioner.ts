import { Partitioners, type ICustomPartitioner } from 'kafkajs';

/** Most keys remembered; the memo starts afresh when full. */
const MAX_KEYS = 100_000;

/**
 * Kafka's default (Java-compatible) partitioner, remembered per key and partition count: a
 * subject's events always go to the partition murmur2 gives its key, which is computed once
 * per subject instead of once per event. Messages without a key are passed through.
 */
/** Until the emitter moves to the new client (then this file goes). */
export const kafkajsKeyedPartitioner: ICustomPartitioner = () => {
  const partition = Partitioners.DefaultPartitioner();
  const memo = new Map<string, number>();
  return (args) => {
    const { key } = args.message;
    if (typeof key !== 'string') return partition(args);
    const id = `${args.topic}\u0000${args.partitionMetadata.length}\u0000${key}`;
    let chosen = memo.get(id);
    if (chosen === undefined) {
      chosen = partition(args);
      if (memo.size >= MAX_KEYS) memo.clear();
      memo.set(id, chosen);
    }
    return chosen;
  };
};
