import { describe, expect, it } from 'vitest';
import { clickHouseTime, minuteToDateTime } from './time.ts';

const viaDate = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

describe('clickHouseTime', () => {
  it('writes what Date writes, for instants across the years 0000 to 9999 and beyond', () => {
    const edges = [0, -1, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(1900, 0, 1), Date.UTC(2299, 11, 31, 23, 59, 59, 999)];
    const years = [new Date(0).setUTCFullYear(0), new Date(0).setUTCFullYear(-1), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10_000, 0, 1)];
    let seed = 7;
    const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    const spread = Array.from({ length: 20_000 }, () => Math.floor((random() - 0.5) * 2 * 8.64e15 * 0.03));
    expect([...edges, ...years, ...spread].filter((ms) => clickHouseTime(ms) !== viaDate(ms))).toEqual([]);
  });

  it('writes every millisecond of consecutive days as Date does', () => {
    const from = Date.UTC(2026, 0, 31, 23, 59, 58);
    const ms = Array.from({ length: 4_000 }, (_, i) => from + i);
    expect(ms.filter((t) => clickHouseTime(t) !== viaDate(t))).toEqual([]);
  });

  it('throws for what is no instant, as Date does', () => {
    expect(() => clickHouseTime(Number.NaN)).toThrow(RangeError);
    expect(clickHouseTime(1.5)).toBe(viaDate(1.5));
  });

  it('writes a minute as a DateTime', () => {
    expect(minuteToDateTime(Date.UTC(2026, 0, 15, 10, 30) / 60_000)).toBe('2026-01-15 10:30:00');
  });
});
