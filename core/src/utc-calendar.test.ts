import { describe, expect, it } from 'vitest';
import { civilFromDays, DAY_MS, daysFromCivil, daysInMonth, isLeapYear } from './utc-calendar.ts';

describe('utc-calendar', () => {
  it('agrees with Date on every day from 1600 to 2400', () => {
    const first = Math.floor(Date.UTC(1600, 0, 1) / DAY_MS);
    const last = Math.floor(Date.UTC(2400, 0, 1) / DAY_MS);
    const wrong: number[] = [];
    for (let days = first; days <= last; days++) {
      const d = new Date(days * DAY_MS);
      const [year, month, day] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
      const civil = civilFromDays(days);
      if (civil.year !== year || civil.month !== month || civil.day !== day || daysFromCivil(year, month, day) !== days) wrong.push(days);
    }
    expect(wrong).toEqual([]);
  });

  it('agrees with Date at the ends of its range and around year 0', () => {
    for (const year of [-271_820, -1, 0, 1, 99, 100, 275_759]) {
      for (const month of [1, 2, 3, 12]) {
        const ms = new Date(Date.UTC(2000, month - 1, 1)).setUTCFullYear(year);
        expect(daysFromCivil(year, month, 1) * DAY_MS).toBe(ms);
        expect(civilFromDays(ms / DAY_MS)).toEqual({ year, month, day: 1 });
      }
    }
  });

  it('knows leap years and month lengths', () => {
    expect([1900, 2000, 2024, 2026, 2100, 2400].map(isLeapYear)).toEqual([false, true, true, false, false, true]);
    expect([daysInMonth(2024, 2), daysInMonth(2026, 2), daysInMonth(2026, 4), daysInMonth(2026, 12), daysInMonth(2026, 13)]).toEqual([29, 28, 30, 31, 0]);
  });
});
