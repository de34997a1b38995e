import { describe, expect, it } from 'vitest';
import { parseRfc3339 } from './event-time.ts';

/** The reading through a regular expression and Date that parseRfc3339 replaced: the reference it must agree with. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;
const reference = (raw: string): number | undefined => {
  const m = RFC3339.exec(raw);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const calendar = new Date(Date.UTC(2000, month - 1, day));
  calendar.setUTCFullYear(year);
  if (month < 1 || month > 12 || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const millis = Number((m[7] ?? '.0').slice(1, 4).padEnd(3, '0'));
  const sign = m[9] === '-' ? -1 : 1;
  return calendar.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 + millis - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
};

describe('parseRfc3339', () => {
  it('reads the forms RFC 3339 allows, to the millisecond', () => {
    expect(parseRfc3339('2026-01-15T10:30:00.123Z')).toBe(Date.UTC(2026, 0, 15, 10, 30, 0, 123));
    expect(parseRfc3339('2026-01-15t10:30:00z')).toBe(Date.UTC(2026, 0, 15, 10, 30));
    expect(parseRfc3339('2026-01-15T10:30:00.1+01:30')).toBe(Date.UTC(2026, 0, 15, 9, 0, 0, 100));
    expect(parseRfc3339('2026-01-15T10:30:00.123456789-00:01')).toBe(Date.UTC(2026, 0, 15, 10, 31, 0, 123));
    expect(parseRfc3339('2024-02-29T23:59:59.999Z')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
    expect(parseRfc3339('1900-01-01T00:00:00Z')).toBe(Date.UTC(1900, 0, 1));
  });

  it('refuses what names no real instant or is not RFC 3339', () => {
    const refused = [
      '2026-02-29T00:00:00Z', '2026-02-30T00:00:00Z', '2100-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-00-10T00:00:00Z',
      '2026-13-10T00:00:00Z', '2026-01-00T00:00:00Z', '2026-01-15T24:00:00Z', '2026-01-15T23:60:00Z', '2026-01-15T23:59:60Z',
      '2026-01-15T10:30:00+24:00', '2026-01-15T10:30:00+23:60', '2026-01-15T10:30:00', '2026-01-15 10:30:00Z', '2026-01-15T10:30:00.Z',
      '2026-01-15T10:30:00.1234567890Z', '2026-01-15T10:30:00Z ', ' 2026-01-15T10:30:00Z', '2026-1-15T10:30:00Z', '+02026-01-15T10:30:00Z',
      '2026-01-15T10:30:00+0100', '2026-01-15T10:30:00+01', '2026-01-15T1:30:00Z', '２０２６-01-15T10:30:00Z', '', 'x',
    ];
    expect(refused.filter((raw) => parseRfc3339(raw) !== undefined)).toEqual([]);
  });

  it('agrees with the regular expression and Date on valid and mutated times', () => {
    let seed = 11;
    const random = (n: number) => (seed = (seed * 48_271) % 2_147_483_647) % n;
    const alphabet = '0123456789-:.TtZz+- x';
    const samples: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      const ms = Date.UTC(1800, 0, 1) + random(2_147_483_647) * 7_000;
      const offset = random(3) === 0 ? 'Z' : `${random(2) ? '+' : '-'}${String(random(25)).padStart(2, '0')}:${String(random(61)).padStart(2, '0')}`;
      const fraction = ['', '.', '.1', '.12', '.123', '.1234', '.123456789', '.1234567890'][random(8)] ?? '';
      let text = `${new Date(ms).toISOString().slice(0, 19)}${fraction}${offset}`;
      if (random(2) === 0) {
        const at = random(text.length);
        text = `${text.slice(0, at)}${alphabet[random(alphabet.length)] ?? ''}${text.slice(at + random(2))}`;
      }
      samples.push(text);
    }
    const calendar = ['2023', '2024', '2000', '1900', '2100'].flatMap((y) => ['01', '02', '04', '12', '13'].flatMap((m) => ['00', '28', '29', '30', '31', '32'].map((d) => `${y}-${m}-${d}T12:00:00Z`)));
    const differing = [...samples, ...calendar].filter((raw) => parseRfc3339(raw) !== reference(raw));
    expect(differing).toEqual([]);
  });
});
