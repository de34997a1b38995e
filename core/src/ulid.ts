import { createHash, randomBytes } from 'node:crypto';

/** Crockford's base32, as ULIDs use it (no I, L, O, U): ids in OpenMeter's format. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

const base32 = (bytes: Uint8Array, chars: number): string => {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
};

/** A new ULID: 48 bits of epoch milliseconds, then 80 random bits (26 characters; ids of one millisecond do not sort by creation). */
export const newUlid = (nowMs: number = Date.now()): string => {
  let time = '';
  for (let t = nowMs, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  return time + base32(randomBytes(10), 16);
};

/** An id in ULID form derived from `text` alone, so that every process gives the same text the same id. */
export const stableUlid = (text: string): string => base32(createHash('sha256').update(text).digest(), 26);
