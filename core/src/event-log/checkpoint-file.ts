import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogPosition } from './segment-files.ts';

const FILE = 'checkpoint.json';

/** How far the log was stored, as the last run left it; the start of the log when there is none. */
export const readCheckpoint = (dir: string): LogPosition => {
  try {
    const { segment, offset } = JSON.parse(readFileSync(join(dir, FILE), 'utf8')) as Partial<LogPosition>;
    if (Number.isSafeInteger(segment) && Number.isSafeInteger(offset)) return { segment: segment ?? 0, offset: offset ?? 0 };
  } catch {
    // No checkpoint yet, or a torn one: start from the oldest segment; dedup drops what was stored.
  }
  return { segment: 0, offset: 0 };
};

/**
 * Replaces the checkpoint atomically (write, fsync, rename). Losing the newest checkpoint
 * (power loss before the rename reached the disk) only makes the next run store again what
 * was stored, which the idempotent writer drops.
 */
export const writeCheckpoint = async (dir: string, position: LogPosition): Promise<void> => {
  const tmp = join(dir, `${FILE}.tmp`);
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(JSON.stringify({ segment: position.segment, offset: position.offset }));
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(tmp, join(dir, FILE));
};
