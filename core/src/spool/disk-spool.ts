import { mkdirSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { open, readFile, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ENV } from '../config/env.ts';

export interface SpoolRecord {
  key: string;
  /** The event as JSON text. */
  value: string;
}

export type FsyncPolicy = 'batch' | 'interval' | 'none';

export interface DiskSpoolOptions {
  dir: string;
  maxBytes: number;
  /**
   * `batch`: every append is fsynced before it resolves (a crash loses nothing appended).
   * `interval`: fsync once a second (a crash may lose the last second).
   * `none`: the OS writes back when it likes.
   */
  fsync?: FsyncPolicy;
  segmentBytes?: number;
}

export class SpoolFullError extends Error {
  constructor(maxBytes: number) {
    super(`the spool is full (${maxBytes} bytes)`);
    this.name = 'SpoolFullError';
  }
}

const SEGMENT = /^(\d{12})\.jsonl$/;
const name = (n: number) => `${String(n).padStart(12, '0')}.jsonl`;

/**
 * One record per line: the key as a JSON string, a tab, then the value as it is (JSON text has
 * no raw tab or newline, and a JSON string ends at its first unescaped quote, so the first tab
 * after it splits the line). A value with a newline in it is written as a JSON array instead,
 * which is also how earlier versions wrote every line.
 */
const toLine = ({ key, value }: SpoolRecord): string =>
  value.includes('\n') ? `${JSON.stringify([key, value])}\n` : `${JSON.stringify(key)}\t${value}\n`;

const fromLine = (line: string): SpoolRecord => {
  if (line.startsWith('[')) {
    const [key, value] = JSON.parse(line) as [string, string];
    return { key, value };
  }
  const tab = line.indexOf('\t');
  return { key: JSON.parse(line.slice(0, tab)) as string, value: line.slice(tab + 1) };
};

/**
 * An append-only, bounded, on-disk FIFO of events: segment files of JSON lines, read from
 * the oldest, deleted once every line was acknowledged. A cursor file remembers how far the
 * oldest segment was acknowledged, so a restart resends at most one unacknowledged read.
 * Operations are serialised; appends go to the newest segment, reads to closed segments.
 * Nothing here blocks the event loop after the constructor: reads, writes, fsyncs and the
 * cursor file all go through the thread pool.
 */
export class DiskSpool {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #fsync: FsyncPolicy;
  readonly #segmentBytes: number;
  #segments: { n: number; bytes: number; lines: number }[] = [];
  #cursor = 0; // lines of the oldest segment already acknowledged
  #active: { n: number; handle: FileHandle } | undefined;
  #cache: { n: number; lines: string[] } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;

  constructor({ dir, maxBytes, fsync = ENV.SPOOL_FSYNC.fallback, segmentBytes = 4 * 1024 * 1024 }: DiskSpoolOptions) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
    this.#fsync = fsync;
    this.#segmentBytes = segmentBytes;
    mkdirSync(dir, { recursive: true });
    for (const file of readdirSync(dir).sort()) {
      const m = SEGMENT.exec(file);
      if (!m) continue;
      const path = join(dir, file);
      let text = readFileSync(path, 'utf8');
      // A crash mid-append leaves a partial last line: it was never acknowledged as written.
      const end = text.lastIndexOf('\n') + 1;
      if (end < text.length) {
        truncateSync(path, Buffer.byteLength(text.slice(0, end)));
        text = text.slice(0, end);
      }
      this.#segments.push({ n: Number(m[1]), bytes: Buffer.byteLength(text), lines: text === '' ? 0 : text.split('\n').length - 1 });
    }
    try {
      const cursor = JSON.parse(readFileSync(join(dir, 'cursor.json'), 'utf8')) as { segment: number; line: number };
      if (cursor.segment === this.#segments[0]?.n) this.#cursor = cursor.line;
    } catch {
      this.#cursor = 0;
    }
    if (fsync === 'interval') {
      this.#timer = setInterval(() => void this.#serial(() => this.#syncIfDirty()), 1_000);
      this.#timer.unref();
    }
  }

  /** Records waiting to be sent. */
  get size(): number {
    return this.#segments.reduce((n, s) => n + s.lines, 0) - this.#cursor;
  }

  get bytes(): number {
    return this.#segments.reduce((n, s) => n + s.bytes, 0);
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Appends in order; rejects with SpoolFullError (appending nothing) when the records do not fit. */
  append(records: SpoolRecord[]): Promise<void> {
    return this.#serial(async () => {
      if (records.length === 0) return;
      const text = records.map(toLine).join('');
      const bytes = Buffer.byteLength(text);
      if (this.bytes + bytes > this.#maxBytes) throw new SpoolFullError(this.#maxBytes);
      let last = this.#segments[this.#segments.length - 1];
      if (!this.#active || !last || last.n !== this.#active.n || last.bytes >= this.#segmentBytes) {
        await this.#closeActive();
        const n = (last?.n ?? 0) + 1;
        this.#active = { n, handle: await open(join(this.#dir, name(n)), 'a') };
        last = { n, bytes: 0, lines: 0 };
        this.#segments.push(last);
      }
      await this.#active.handle.write(text);
      last.bytes += bytes;
      last.lines += records.length;
      if (this.#fsync === 'batch') await this.#active.handle.sync();
      else this.#dirty = true;
    });
  }

  /** Up to `max` of the oldest records, without removing them. */
  peek(max: number): Promise<SpoolRecord[]> {
    return this.#serial(async () => {
      const oldest = this.#segments[0];
      if (!oldest) return [];
      if (this.#active?.n === oldest.n) await this.#closeActive(); // appends move to a new segment
      if (this.#cache?.n !== oldest.n) {
        const lines = (await readFile(join(this.#dir, name(oldest.n)), 'utf8')).split('\n');
        lines.pop();
        this.#cache = { n: oldest.n, lines };
      }
      return this.#cache.lines.slice(this.#cursor, this.#cursor + max).map(fromLine);
    });
  }

  /** Removes the `count` oldest records (after they were sent). */
  ack(count: number): Promise<void> {
    return this.#serial(async () => {
      const oldest = this.#segments[0];
      if (!oldest) return;
      this.#cursor = Math.min(this.#cursor + count, oldest.lines);
      if (this.#cursor >= oldest.lines && this.#active?.n !== oldest.n) {
        await unlink(join(this.#dir, name(oldest.n)));
        this.#segments.shift();
        this.#cursor = 0;
        this.#cache = undefined;
      }
      const tmp = join(this.#dir, 'cursor.json.tmp');
      await writeFile(tmp, JSON.stringify({ segment: this.#segments[0]?.n ?? 0, line: this.#cursor }));
      await rename(tmp, join(this.#dir, 'cursor.json'));
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#serial(async () => {
      await this.#syncIfDirty();
      await this.#closeActive();
    });
  }

  async #closeActive(): Promise<void> {
    if (!this.#active) return;
    if (this.#fsync !== 'none') await this.#active.handle.sync();
    await this.#active.handle.close();
    this.#active = undefined;
  }

  async #syncIfDirty(): Promise<void> {
    if (this.#dirty && this.#active) await this.#active.handle.sync();
    this.#dirty = false;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
