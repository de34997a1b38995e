/** 'YYYY-MM-DD hh:mm:ss.mmm' in UTC: how ClickHouse reads a DateTime64(3, 'UTC') value or parameter. */
export const clickHouseTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** 'YYYY-MM-DD hh:mm:ss' in UTC of an epoch minute: a DateTime('UTC') value or parameter. */
export const minuteToDateTime = (minute: number): string => clickHouseTime(minute * 60_000).slice(0, 19);
