/** Formatting for the benchmark report: plain numbers a reader can compare at a glance. */

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 12345.6 → "12,346" */
export const formatCount = (n: number): string => grouped.format(n);

/** 1.234 → "1.23 ms"; 0.0456 → "0.046 ms" (sub-millisecond values keep two significant digits). */
export const formatMs = (ms: number): string => {
  const digits = Math.abs(ms) >= 1 || ms === 0 ? 2 : Math.max(2, 1 - Math.floor(Math.log10(Math.abs(ms))));
  return `${ms.toFixed(digits)} ms`;
};

/** Signed difference: 1.2 → "+1.20 ms", -0.5 → "−0.50 ms". */
export const formatDeltaMs = (ms: number): string => (ms < 0 ? `−${formatMs(-ms)}` : `+${formatMs(ms)}`);

/** CPU microseconds: 123.4 → "123 µs"; undefined → "—". */
export const formatUs = (us: number | undefined): string => (us === undefined ? '—' : `${us.toFixed(0)} µs`);

/** CPU per request by role: "wrk 21 + server 130 + upstream 40 = 191 µs" (roles in the given order first). */
export const formatCpuBreakdown = (us: Record<string, number>, labels: Record<string, string> = {}): string => {
  const entries = Object.entries(us);
  if (entries.length === 0) return '—';
  const total = entries.reduce((sum, [, v]) => sum + v, 0);
  return `${entries.map(([role, v]) => `${labels[role] ?? role} ${v.toFixed(0)}`).join(' + ')} = ${total.toFixed(0)} µs`;
};

/** "14 debits per write to Valkey (client); 60 per read (server)" — how well debits were batched. */
export const formatPipelining = (writesPerRequest: number | undefined, commandsPerRead: number | undefined): string => {
  const parts: string[] = [];
  if (writesPerRequest !== undefined && writesPerRequest > 0) parts.push(`${(1 / writesPerRequest).toFixed(0)} debits per write to Valkey`);
  if (commandsPerRead !== undefined) parts.push(`Valkey read ${commandsPerRead.toFixed(0)} per socket read`);
  return parts.join('; ');
};

/** 0.8734 → "0.87×" */
export const formatRatio = (ratio: number): string => `${ratio.toFixed(2)}×`;

/** Bytes → "123.4 MB" (MiB, as /proc reports kB = KiB). */
export const formatMb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export interface ReportRow {
  scenario: string;
  measure: string;
  baseline: string;
  system: string;
  comparison: string;
  target: string;
  verdict: string;
}

const escapeCell = (cell: string) => cell.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** A GitHub-flavoured markdown table; numeric-looking columns are right-aligned. */
export const markdownTable = (headers: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => escapeCell(r[i] ?? '').length), 3));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+−~]?[\d.,]+/.test(r[i] ?? '') || (r[i] ?? '') === '—'));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (numeric[i] ? escapeCell(c).padStart(widths[i] ?? 0) : escapeCell(c).padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(headers), rule, ...rows.map((r) => line(headers.map((_, i) => r[i] ?? '')))].join('\n');
};

/** The summary table every scenario contributes rows to. */
export const reportTable = (rows: readonly ReportRow[]): string =>
  markdownTable(
    ['scenario', 'measure', 'baseline', 'system', 'system vs baseline', 'target', 'verdict'],
    rows.map((r) => [r.scenario, r.measure, r.baseline, r.system, r.comparison, r.target, r.verdict]),
  );
