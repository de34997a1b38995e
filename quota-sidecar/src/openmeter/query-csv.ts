import type { MeterRow } from '@tollgate/core/meters';

/** RFC 4180 quoting, applied only where a field needs it (as Go's encoding/csv, which OpenMeter uses). */
const field = (value: string): string => (/[",\r\n]|^[ \t]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

/**
 * A meter query answer as OpenMeter's `Accept: text/csv` gives it: window_start, window_end,
 * subject (when grouped by it), each other group-by key in the order asked, then the value
 * with six decimals. The v3 API names the window columns `from` and `to`.
 */
export const meterRowsCsv = (groupBy: readonly string[], rows: readonly MeterRow[], window: readonly [string, string] = ['window_start', 'window_end']): string => {
  const bySubject = groupBy.includes('subject');
  const keys = groupBy.filter((k) => k !== 'subject');
  const header = [...window, ...(bySubject ? ['subject'] : []), ...keys, 'value'];
  const lines = rows.map((row) => [
    row.windowStart,
    row.windowEnd,
    ...(bySubject ? [row.subject ?? ''] : []),
    ...keys.map((k) => row.groupBy[k] ?? ''),
    row.value.toFixed(6),
  ]);
  return [header, ...lines].map((line) => `${line.map(field).join(',')}\n`).join('');
};
