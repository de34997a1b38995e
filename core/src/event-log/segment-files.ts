import { closeSync, fstatSync, ftruncateSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** A place in the log: a byte offset in one segment file. */
export interface LogPosition {
  readonly segment: number;
  readonly offset: number;
}

const SEGMENT = /^(\d{12})\.log$/;
const NEWLINE = 0x0a;
const CHUNK = 1 << 20;

export const segmentPath = (dir: string, n: number): string => join(dir, `${String(n).padStart(12, '0')}.log`);

/** The segment numbers in `dir`, oldest first. */
export const listSegments = (dir: string): number[] =>
  readdirSync(dir)
    .map((f) => SEGMENT.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);

/**
 * Cuts a segment back to its last complete line and returns its size. A process killed inside
 * an append leaves a partial line: that append never returned, so its call was never answered.
 */
export const recoverSegment = (path: string): number => {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(CHUNK);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - CHUNK);
      const n = readSync(fd, buf, 0, end - start, start);
      const i = buf.subarray(0, n).lastIndexOf(NEWLINE);
      if (i >= 0) {
        end = start + i + 1;
        break;
      }
      end = start;
    }
    if (end < size) ftruncateSync(fd, end);
    return end;
  } finally {
    closeSync(fd);
  }
};

/** Lines in the bytes of a segment from `from` on (every line ends with a newline). */
export const countLines = (path: string, from: number): number => {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let lines = 0;
    for (let pos = from; ; ) {
      const n = readSync(fd, buf, 0, CHUNK, pos);
      if (n === 0) return lines;
      for (let i = buf.indexOf(NEWLINE, 0); i >= 0 && i < n; i = buf.indexOf(NEWLINE, i + 1)) lines++;
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
};
