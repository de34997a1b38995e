/** One wrk run, as wrk 4 prints it. Times are in milliseconds, sizes in bytes. */
export interface WrkResult {
  url: string;
  threads: number;
  connections: number;
  /** Completed requests (responses of any status). */
  requests: number;
  durationMs: number;
  bytesRead: number;
  requestsPerSec: number;
  latency: { avgMs: number; stdevMs: number; maxMs: number };
  /** Present when wrk ran with `--latency`. */
  percentiles: { p50Ms: number; p75Ms: number; p90Ms: number; p99Ms: number } | undefined;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** Responses outside 2xx/3xx. */
  non2xx3xx: number;
}

export class WrkParseError extends Error {
  constructor(reason: string, output: string) {
    super(`cannot read wrk output (${reason}):\n${output.trim().slice(0, 500)}`);
    this.name = 'WrkParseError';
  }
}

// wrk's own unit tables (units.c): time scales by 1000 up to seconds, then by 60.
const TIME_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const BYTES: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

const NUMBER = String.raw`(\d+(?:\.\d+)?)`;

/** `512.01us`, `3.07ms`, `1.51s`, `1.00m` → milliseconds. */
export const parseWrkTime = (text: string): number => {
  const m = new RegExp(`^${NUMBER}(us|ms|s|m|h)$`).exec(text.trim());
  const unit = m?.[2];
  if (!m || unit === undefined) throw new Error(`not a wrk time: "${text}"`);
  return Number(m[1]) * (TIME_MS[unit] ?? Number.NaN);
};

/** `27.58MB`, `478.86KB`, `812B` → bytes. */
export const parseWrkBytes = (text: string): number => {
  const m = new RegExp(`^${NUMBER}(B|KB|MB|GB|TB)$`).exec(text.trim());
  const unit = m?.[2];
  if (!m || unit === undefined) throw new Error(`not a wrk size: "${text}"`);
  return Number(m[1]) * (BYTES[unit] ?? Number.NaN);
};

const match = (output: string, pattern: RegExp, what: string): RegExpExecArray => {
  const m = pattern.exec(output);
  if (!m) throw new WrkParseError(`no ${what}`, output);
  return m;
};

const group = (m: RegExpExecArray, i: number): string => m[i] ?? '';

/** Reads wrk's standard report. Throws WrkParseError when wrk did not run (e.g. connection refused). */
export const parseWrkOutput = (output: string): WrkResult => {
  const header = match(output, /Running .+ test @ (\S+)\s+(\d+) threads? and (\d+) connections?/, 'run header');
  const latency = match(output, /^[ \t]*Latency[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)/m, 'latency line');
  const totals = match(output, /^[ \t]*(\d+) requests in (\S+), (\S+) read/m, 'request total');
  const rate = match(output, new RegExp(`^Requests/sec:\\s+${NUMBER}`, 'm'), 'Requests/sec');

  const percentile = (p: number): number | undefined => {
    const m = new RegExp(`^[ \\t]+${p}%[ \\t]+(\\S+)`, 'm').exec(output);
    return m ? parseWrkTime(group(m, 1)) : undefined;
  };
  const [p50, p75, p90, p99] = [50, 75, 90, 99].map(percentile);
  const hasDistribution = /Latency Distribution/.test(output);
  if (hasDistribution && (p50 === undefined || p75 === undefined || p90 === undefined || p99 === undefined)) {
    throw new WrkParseError('incomplete latency distribution', output);
  }

  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);

  return {
    url: group(header, 1),
    threads: Number(group(header, 2)),
    connections: Number(group(header, 3)),
    requests: Number(group(totals, 1)),
    durationMs: parseWrkTime(group(totals, 2)),
    bytesRead: parseWrkBytes(group(totals, 3)),
    requestsPerSec: Number(group(rate, 1)),
    latency: {
      avgMs: parseWrkTime(group(latency, 1)),
      stdevMs: parseWrkTime(group(latency, 2)),
      maxMs: parseWrkTime(group(latency, 3)),
    },
    percentiles:
      hasDistribution && p50 !== undefined && p75 !== undefined && p90 !== undefined && p99 !== undefined
        ? { p50Ms: p50, p75Ms: p75, p90Ms: p90, p99Ms: p99 }
        : undefined,
    socketErrors: errors
      ? { connect: Number(errors[1]), read: Number(errors[2]), write: Number(errors[3]), timeout: Number(errors[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx3xx: non2xx ? Number(non2xx[1]) : 0,
  };
};

/** Requests that did not end in a 2xx/3xx response; a measurement with any is not comparable. */
export const failedRequests = (r: WrkResult): number =>
  r.non2xx3xx + r.socketErrors.connect + r.socketErrors.read + r.socketErrors.write + r.socketErrors.timeout;

/** "3 non-2xx/3xx responses, 2 read errors" — what went wrong in a run, or "no failures". */
export const describeFailures = (r: WrkResult): string => {
  const parts = [
    [r.non2xx3xx, 'non-2xx/3xx responses'],
    [r.socketErrors.connect, 'connect errors'],
    [r.socketErrors.read, 'read errors'],
    [r.socketErrors.write, 'write errors'],
    [r.socketErrors.timeout, 'timeouts'],
  ] as const;
  const failed = parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  return failed.length > 0 ? failed.join(', ') : 'no failures';
};
