import { close, closeSync, fdatasync, fsync, ftruncateSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { metrics } from '../metrics/metrics.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint-file.ts';
import { claimDirectory } from './directory-owner.ts';
import { readLines, type LogBatch, type Segment } from './read-lines.ts';
import { countLines, listSegments, recoverSegment, segmentPath, type LogPosition } from './segment-files.ts';
import { ENV } from '../config/env.ts';

export type { LogPosition } from './segment-files.ts';
export type { LogBatch } from './read-lines.ts';

export interface EventLogOptions {
  dir: string;
  /** Group commit: the longest an append waits for its fsync (0: after the event-loop turn). */
  fsyncMs?: number;
  /** Unstored bytes beyond which `full` is true. */
  maxBytes?: number;
  segmentBytes?: number;
}

const datasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

/**
 * The local event log of a process without Kafka: an append-only sequence of segment files
 * of JSON lines in a directory only this process writes.
 * - `append` is one synchronous write: when it returns, the line is in the kernel's page
 *   cache and survives a kill of the process. An fsync per group (every `fsyncMs`, off the
 *   event loop) makes it survive a power loss.
 * - The sink `read`s from where it left off and `acknowledge`s what it stored: a durable
 *   checkpoint, after which fully stored segments are deleted. A crash between a store and
 *   its checkpoint stores those lines again; the writer's dedup drops them (at least once).
 */
export class EventLog {
  readonly dir: string;
  readonly #fsyncMs: number;
  readonly #maxBytes: number;
  readonly #segmentBytes: number;
  readonly #release: () => void;
  readonly #segments: Segment[] = [];
  #fd: number;
  /** Descriptors of segments the writer left, closed after their last fsync. */
  #retired: number[] = [];
  #newFile = true;
  #checkpoint: LogPosition;
  #readAt: LogPosition;
  #appended = 0;
  #acknowledged = 0;
  #bytes = 0;
  #syncScheduled = false;
  #cancelSync: (() => void) | undefined;
  #syncing: Promise<void> | undefined;
  #syncedThrough = 0;
  #closed = false;
  #wakeAt = Infinity;
  #wake: (() => void) | undefined;
  /** Why the last append or fsync failed, until one succeeds. */
  problem: string | undefined;

  constructor({ dir, fsyncMs = ENV.EVENT_LOG_FSYNC_MS.fallback, maxBytes = ENV.EVENT_LOG_MAX_BYTES.fallback, segmentBytes = 16 << 20 }: EventLogOptions) {
    this.dir = dir;
    this.#fsyncMs = fsyncMs;
    this.#maxBytes = maxBytes;
    this.#segmentBytes = segmentBytes;
    mkdirSync(dir, { recursive: true });
    this.#release = claimDirectory(dir);
    let checkpoint = readCheckpoint(dir);
    for (const n of listSegments(dir)) {
      // Before the checkpoint: stored already (the run stopped before deleting it).
      if (n < checkpoint.segment) unlinkSync(segmentPath(dir, n));
      else this.#segments.push({ n, bytes: recoverSegment(segmentPath(dir, n)) });
    }
    for (const s of this.#segments) {
      const from = s.n === checkpoint.segment ? Math.min(checkpoint.offset, s.bytes) : 0;
      this.#bytes += s.bytes - from;
      this.#appended += countLines(segmentPath(dir, s.n), from);
    }
    // Appends of this run go to a segment of their own: what a previous run left is only read.
    const n = Math.max(checkpoint.segment, this.#segments.at(-1)?.n ?? 0) + 1;
    this.#fd = openSync(segmentPath(dir, n), 'a');
    this.#segments.push({ n, bytes: 0 });
    // Reading starts at the checkpoint, or at the oldest segment when its own was deleted.
    const first = this.#segments[0] ?? { n, bytes: 0 };
    checkpoint = first.n === checkpoint.segment ? { segment: first.n, offset: Math.min(checkpoint.offset, first.bytes) } : { segment: first.n, offset: 0 };
    this.#checkpoint = checkpoint;
    this.#readAt = checkpoint;
  }

  /** Lines appended and not yet acknowledged as stored. */
  get pending(): number {
    return this.#appended - this.#acknowledged;
  }

  /** Lines appended since the log was opened, including those a previous run left. */
  get appended(): number {
    return this.#appended;
  }

  /** True while the unstored lines take more than `maxBytes`. */
  get full(): boolean {
    return this.#bytes > this.#maxBytes;
  }

  /**
   * Appends one line (ending with a newline) with one write. Throws when the write fails;
   * nothing of that line then stays in the file.
   */
  append(line: string): void {
    if (this.#closed) throw new Error('the event log is closed');
    const segment = this.#segments[this.#segments.length - 1];
    if (!segment) throw new Error('the event log has no segment');
    const length = Buffer.byteLength(line);
    try {
      let written = writeSync(this.#fd, line);
      // A regular file takes the whole write unless the disk fills up; finish a short one.
      if (written < length) {
        const bytes = Buffer.from(line);
        while (written < length) written += writeSync(this.#fd, bytes, written);
      }
    } catch (err) {
      this.#failed('append', err);
      try {
        ftruncateSync(this.#fd, segment.bytes);
      } catch {
        // The next append fails too, and says why.
      }
      throw err;
    }
    if (this.problem !== undefined && this.problem.startsWith('append')) this.problem = undefined;
    segment.bytes += length;
    this.#bytes += length;
    this.#appended += 1;
    if (!this.#syncScheduled) this.#scheduleSync();
    if (segment.bytes >= this.#segmentBytes) this.#rotate(segment.n + 1);
    if (this.#appended - this.#acknowledged >= this.#wakeAt) this.#wake?.();
  }

  /** Resolves when `lines` are pending, after `ms`, or at `interrupt()`, whichever is first. */
  waitForPending(lines: number, ms: number): Promise<void> {
    if (this.pending >= lines || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.#wakeAt = Infinity;
        this.#wake = undefined;
        resolve();
      };
      this.#wakeAt = lines;
      this.#wake = done;
    });
  }

  /** Ends a `waitForPending` now. */
  interrupt(): void {
    this.#wake?.();
  }

  /** Up to `max` lines after the previous read (without their newlines). */
  async read(max: number): Promise<LogBatch> {
    const batch = await readLines(this.dir, this.#segments, this.#readAt, max);
    this.#readAt = batch.end;
    return batch;
  }

  /** Records durably that every line before `end` (`lines` of them) is stored, and deletes stored segments. */
  async acknowledge(end: LogPosition, lines: number): Promise<void> {
    let position = end;
    const index = this.#segments.findIndex((s) => s.n === end.segment);
    const next = index >= 0 ? this.#segments[index + 1] : undefined;
    // The end of a segment the writer has left: the next read starts in the next segment.
    if (next && end.offset >= (this.#segments[index]?.bytes ?? 0)) position = { segment: next.n, offset: 0 };
    try {
      await writeCheckpoint(this.dir, position);
    } catch (err) {
      this.#failed('checkpoint', err);
      throw err;
    }
    const before = this.#checkpoint;
    this.#checkpoint = position;
    this.#acknowledged += lines;
    let released = 0;
    while (this.#segments.length > 1 && (this.#segments[0]?.n ?? Infinity) < position.segment) {
      const done = this.#segments.shift();
      if (!done) break;
      if (done.readFd !== undefined) closeSync(done.readFd);
      unlinkSync(segmentPath(this.dir, done.n));
      released += done.n === before.segment ? done.bytes - before.offset : done.bytes;
    }
    this.#bytes -= released + (position.segment === before.segment ? position.offset - before.offset : position.offset);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    this.#cancelSync?.();
    // A descriptor is closed only after the fsync that uses it: its number could be reused.
    await this.#syncing;
    await this.#sync();
    for (const s of this.#segments) if (s.readFd !== undefined) closeSync(s.readFd);
    closeSync(this.#fd);
    this.#release();
  }

  #rotate(n: number): void {
    this.#retired.push(this.#fd);
    this.#fd = openSync(segmentPath(this.dir, n), 'a');
    this.#segments.push({ n, bytes: 0 });
    this.#newFile = true;
  }

  #scheduleSync(): void {
    this.#syncScheduled = true;
    const run = () => {
      this.#cancelSync = undefined;
      this.#syncing = this.#sync().finally(() => (this.#syncing = undefined));
    };
    if (this.#fsyncMs === 0) {
      const immediate = setImmediate(run);
      this.#cancelSync = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(run, this.#fsyncMs).unref();
      this.#cancelSync = () => clearTimeout(timer);
    }
  }

  /** One group commit: every line appended so far reaches the disk, with any new segment's name. */
  async #sync(): Promise<void> {
    const through = this.#appended;
    const retired = this.#retired;
    this.#retired = [];
    const newFile = this.#newFile;
    this.#newFile = false;
    try {
      for (const fd of retired) {
        await datasyncAsync(fd);
        await closeAsync(fd);
      }
      await datasyncAsync(this.#fd);
      if (newFile) {
        const dirFd = openSync(this.dir, 'r');
        try {
          await fsyncAsync(dirFd);
        } finally {
          closeSync(dirFd);
        }
      }
      this.#syncedThrough = through;
      if (this.problem?.startsWith('fsync')) this.problem = undefined;
    } catch (err) {
      this.#failed('fsync', err);
    } finally {
      this.#syncScheduled = false;
      if (!this.#closed && this.#appended > this.#syncedThrough) this.#scheduleSync();
    }
  }

  #failed(operation: 'append' | 'fsync' | 'checkpoint', err: unknown): void {
    metrics.eventLogFailures.inc({ operation });
    this.problem = `${operation} failed in ${this.dir}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
