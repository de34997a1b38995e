import { civilFromDays, DAY_MS } from '../utc-calendar.ts';

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const TWO = Array.from({ length: 100 }, (_, n) => pad(n, 2));
const THREE = Array.from({ length: 1000 }, (_, n) => pad(n, 3));
/** Years 0000–9999, the range ISO strings write with four digits; other instants take Date's form. */
const FAST_FROM = new Date(Date.UTC(2000, 0, 1)).setUTCFullYear(0);
const FAST_TO = Date.UTC(10_000, 0, 1);

// Consecutive events fall on one day: its 'YYYY-MM-DD ' is kept.
let cachedDay = Number.NaN;
let cachedDate = '';

/**
 * 'YYYY-MM-DD hh:mm:ss.mmm' in UTC: how ClickHouse reads a DateTime64(3, 'UTC') value or
 * parameter. The same text as `new Date(ms).toISOString()` with a space for 'T' and no 'Z',
 * computed without a Date for the years 0000 to 9999.
 */
export const clickHouseTime = (ms: number): string => {
  if (!Number.isInteger(ms) || ms < FAST_FROM || ms >= FAST_TO) return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    const { year, month, day: date } = civilFromDays(day);
    cachedDate = `${pad(year, 4)}-${TWO[month]}-${TWO[date]} `;
    cachedDay = day;
  }
  const inDay = ms - day * DAY_MS;
  const seconds = Math.floor(inDay / 1000);
  const minutes = Math.floor(seconds / 60);
  return `${cachedDate}${TWO[Math.floor(minutes / 60)]}:${TWO[minutes % 60]}:${TWO[seconds % 60]}.${THREE[inDay % 1000]}`;
};

/** 'YYYY-MM-DD hh:mm:ss' in UTC of an epoch minute: a DateTime('UTC') value or parameter. */
export const minuteToDateTime = (minute: number): string => clickHouseTime(minute * 60_000).slice(0, 19);
