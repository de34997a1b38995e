import { describe, expect, it } from 'vitest';
import { keyEncoder, partitionOf } from './keyed-partitioner.ts';

/**
 * Fixed vectors: the partitions kafkajs 2.2.4's DefaultPartitioner (Java's murmur2 partitioner)
 * gave these keys. Every subject must keep the partition it had before the client changed.
 */
const KAFKAJS_6_PARTITIONS_TPP_0_TO_999 =
  '4244301010104100535055430030524202314204310345240053001553200445203424452512344102413332135230052551424202004435214344052544425110520253103510405220052101315440000030143524251003532332151015054120105225034041510541235403201244552321021132053335244434553502502241554432044530042020510010244545301355251051130414055520051010545233423550135552514040230532343524140315054052550241023120342310420532213410152305434544121342142155031031234434025523150125422205335112112054432223403505020135421353154252022321545031314445541522534531551122100024340330410552105514123420520311543054012532033220502014154513245511054524355110151224053313401311442523443541150542023213020511440145133411554130313414045522412122551054321235005544022022151544052131035455534425033225250101121535240315205554425422111345142203454350232153054122444201405022045331540402144024132401040322242404302232210542014152415511221202004004013423332351124221405435135425510114234331115123313155151142254535140051433200030124124053304322022330';

/** key → partition with 6, 7, 1 and 100 partitions (kafkajs DefaultPartitioner). */
const KAFKAJS_EDGE_CASES: [string, number, number, number, number][] = [
  ['', 3, 2, 0, 81],
  ['a', 4, 5, 0, 24],
  ['tpp-12345', 3, 4, 0, 49],
  ['open-banking-tpp-ÄÖÜ-ü', 3, 6, 0, 39],
  ['日本語', 4, 6, 0, 70],
  ['x'.repeat(300), 4, 0, 0, 56],
  ['{tpp-7}', 4, 0, 0, 18],
];

describe('keyed partitioner', () => {
  it('gives subjects tpp-0 … tpp-999 the partitions kafkajs gave them over 6 partitions', () => {
    const encode = keyEncoder();
    const ours = Array.from({ length: 1_000 }, (_, i) => encode(`tpp-${i}`).hash % 6).join('');
    expect(ours).toBe(KAFKAJS_6_PARTITIONS_TPP_0_TO_999);
    // Twice: the second answer comes from the memo.
    expect(Array.from({ length: 1_000 }, (_, i) => encode(`tpp-${i}`).hash % 6).join('')).toBe(KAFKAJS_6_PARTITIONS_TPP_0_TO_999);
  });

  it('agrees with kafkajs on empty, multi-byte, long and hash-tagged keys, for any partition count', () => {
    const encode = keyEncoder();
    for (const [key, six, seven, one, hundred] of KAFKAJS_EDGE_CASES) {
      const { hash, bytes } = encode(key);
      expect([hash % 6, hash % 7, hash % 1, hash % 100], key).toEqual([six, seven, one, hundred]);
      expect(partitionOf(key, 7)).toBe(seven);
      expect(bytes.equals(Buffer.from(key, 'utf8'))).toBe(true);
    }
  });
});
