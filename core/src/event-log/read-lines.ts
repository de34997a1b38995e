import { openSync, read } from 'node:fs';
import { promisify } from 'node:util';
import { segmentPath, type LogPosition } from './segment-files.ts';

/** One segment file of the log: its number and the bytes appended to it so far. */
export interface Segment {
  n: number;
  bytes: number;
  /** Open for reading, once the sink reads it. */
  readFd?: number;
}

/** Lines read from the log, and where the next read starts. */
export interface LogBatch {
  lines: string[];
  end: LogPosition;
}

const readAsync = promisify(read);
const NEWLINE = 0x0a;
const READ_CHUNK = 4 << 20;

/**
 * Up to `max` whole lines (without their newlines) from `from` on, through `segments` in order.
 * Only the bytes counted in a segment are read, so a line being appended is never half read;
 * the last segment is the one appended to, and a read that reaches its end stops there.
 */
export const readLines = async (dir: string, segments: Segment[], from: LogPosition, max: number): Promise<LogBatch> => {
  const lines: string[] = [];
  let at = from;
  let chunk = READ_CHUNK;
  while (lines.length < max) {
    const index = segments.findIndex((s) => s.n === at.segment);
    const segment = segments[index];
    if (!segment) break;
    const active = index === segments.length - 1;
    if (at.offset >= segment.bytes) {
      const next = segments[index + 1];
      if (active || !next) break;
      at = { segment: next.n, offset: 0 };
      continue;
    }
    segment.readFd ??= openSync(segmentPath(dir, segment.n), 'r');
    const want = Math.min(segment.bytes - at.offset, chunk);
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await readAsync(segment.readFd, buf, 0, want, at.offset);
    let start = 0;
    while (lines.length < max) {
      const i = buf.indexOf(NEWLINE, start);
      if (i < 0 || i >= bytesRead) break;
      lines.push(buf.toString('utf8', start, i));
      start = i + 1;
    }
    // A line longer than the chunk: read again with room for it.
    if (start === 0) {
      if (bytesRead < want || want === segment.bytes - at.offset) break;
      chunk *= 2;
      continue;
    }
    at = { segment: segment.n, offset: at.offset + start };
  }
  return { lines, end: at };
};
