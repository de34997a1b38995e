import { murmur2 } from '@platformatic/kafka';

/** Most keys remembered; the memo starts afresh when full. */
const MAX_KEYS = 100_000;

export interface EncodedKey {
  /** The key's UTF-8 bytes, as sent. */
  bytes: Buffer;
  /** Java's `Utils.toPositive(Utils.murmur2(bytes))`: the partition is this modulo the partition count. */
  hash: number;
}

/**
 * Kafka's default (Java) partitioner for keyed messages, the one kafkajs implements too:
 * murmur2 of the key's UTF-8 bytes made positive, modulo the partition count. So a subject's
 * events go to the partition they always went to, whichever client sent them. The bytes and
 * the hash are remembered per key: computed once per subject, not once per event.
 */
export const keyEncoder = (): ((key: string) => EncodedKey) => {
  const memo = new Map<string, EncodedKey>();
  return (key) => {
    let encoded = memo.get(key);
    if (encoded === undefined) {
      const bytes = Buffer.from(key);
      encoded = { bytes, hash: murmur2(bytes) & 0x7fffffff };
      if (memo.size >= MAX_KEYS) memo.clear();
      memo.set(key, encoded);
    }
    return encoded;
  };
};

/** The partition of `key` among `partitions` (for tests and tools; the producer uses `keyEncoder`). */
export const partitionOf = (key: string, partitions: number): number => (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions;
