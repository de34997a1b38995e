/** One test of a `valkey-benchmark --csv` run. Latencies in milliseconds. */
export interface ValkeyBenchmarkRow {
  test: string;
  requestsPerSec: number;
  avgMs: number;
  minMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

const COLUMNS = ['test', 'rps', 'avg_latency_ms', 'min_latency_ms', 'p50_latency_ms', 'p95_latency_ms', 'p99_latency_ms', 'max_latency_ms'];

/** Splits one CSV line; fields may be quoted, with `""` for a quote inside. */
export const splitCsvLine = (line: string): string[] => {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line.charAt(i);
    if (quoted) {
      if (ch === '"' && line.charAt(i + 1) === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
};

const numberAt = (fields: string[], i: number, line: string): number => {
  const raw = fields[i] ?? '';
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n)) throw new Error(`valkey-benchmark: column ${COLUMNS[i]} is not a number in: ${line}`);
  return n;
};

/**
 * Reads the CSV report of valkey-benchmark (Valkey 8 columns). Throws when the header is
 * missing or has other columns, i.e. when the benchmark did not run or the format changed.
 */
export const parseValkeyBenchmarkCsv = (output: string): ValkeyBenchmarkRow[] => {
  const lines = output.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const headerAt = lines.findIndex((l) => l.startsWith('"test"'));
  if (headerAt < 0) throw new Error(`valkey-benchmark printed no CSV report:\n${output.trim().slice(0, 500)}`);
  const header = splitCsvLine(lines[headerAt] ?? '');
  if (header.join(',') !== COLUMNS.join(',')) throw new Error(`valkey-benchmark CSV has unexpected columns: ${header.join(',')}`);
  return lines.slice(headerAt + 1).map((line) => {
    const f = splitCsvLine(line);
    if (f.length !== COLUMNS.length) throw new Error(`valkey-benchmark CSV row has ${f.length} fields: ${line}`);
    return {
      test: f[0] ?? '',
      requestsPerSec: numberAt(f, 1, line),
      avgMs: numberAt(f, 2, line),
      minMs: numberAt(f, 3, line),
      p50Ms: numberAt(f, 4, line),
      p95Ms: numberAt(f, 5, line),
      p99Ms: numberAt(f, 6, line),
      maxMs: numberAt(f, 7, line),
    };
  });
};
