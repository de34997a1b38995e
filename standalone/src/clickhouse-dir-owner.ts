import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// A line of /proc/locks: "1: FLOCK  ADVISORY  WRITE 12266 fe:00:9986638 0 EOF" (device numbers in hex).
const LOCK_LINE = /^\d+:\s+\S+\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/;

/**
 * The process holding the embedded ClickHouse's lock on `dataDir` (its `status` file), if
 * another one does. The engine takes an exclusive flock on that file and, when it cannot,
 * prints its own error and a stack trace: asking the kernel first lets `npm start` refuse in
 * one line. Linux only (/proc/locks); elsewhere this answers undefined and the engine's error
 * stands.
 */
export const clickHouseDirOwner = (dataDir: string): number | undefined => {
  let dev: number;
  let ino: number;
  let locks: string;
  try {
    ({ dev, ino } = statSync(join(dataDir, 'status')));
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  // Linux's dev_t: the major number in bits 8-19 (and above 32), the minor in bits 0-7 and 20-31.
  const major = Math.floor(dev / 256) % 4096;
  const minor = (dev % 256) + (Math.floor(dev / 1048576) % 4096) * 256;
  for (const line of locks.split('\n')) {
    const m = LOCK_LINE.exec(line);
    if (!m || Number(m[4]) !== ino || parseInt(m[2] ?? '', 16) !== major || parseInt(m[3] ?? '', 16) !== minor) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid) return pid;
  }
  return undefined;
};
