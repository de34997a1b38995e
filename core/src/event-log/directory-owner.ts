import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Another live process holds the directory. */
export class DirectoryInUseError extends Error {
  readonly dir: string;
  readonly pid: number;
  constructor(dir: string, pid: number) {
    super(`${dir} is in use by process ${pid}`);
    this.name = 'DirectoryInUseError';
    this.dir = dir;
    this.pid = pid;
  }
}

const OWNER_FILE = 'owner.pid';
// Directories this process holds: a second claim from the same process is refused too.
const held = new Set<string>();

/** When the process started (Linux: field 22 of /proc/<pid>/stat), so that a reused pid is not taken for the owner. */
const startTimeOf = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err instanceof Error && 'code' in err && err.code === 'EPERM';
  }
};

/** The pid in an owner file, if that process still runs (the same process, not a reused pid). */
const liveOwner = (path: string): number | undefined => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const [pidText = '', started] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || !isAlive(pid)) return undefined;
  const now = startTimeOf(pid);
  return started === undefined || now === undefined || now === started ? pid : undefined;
};

/**
 * Makes this process the only one writing `dir`: an owner file names its pid. The file of a
 * process that no longer runs (killed with SIGKILL) is taken over. Returns the release.
 * Two processes that find the same stale file at the same instant could both take it over;
 * the embedded ClickHouse's own lock still stops the second `npm start`.
 */
export const claimDirectory = (dir: string): (() => void) => {
  const path = join(dir, OWNER_FILE);
  if (held.has(path)) throw new DirectoryInUseError(dir, process.pid);
  const owner = `${process.pid} ${startTimeOf(process.pid) ?? ''}`.trim();
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, `${owner}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST')) throw err;
      const pid = liveOwner(path);
      if (pid !== undefined) throw new DirectoryInUseError(dir, pid);
      if (attempt > 0) throw err;
      unlinkSync(path);
    }
  }
  held.add(path);
  return () => {
    held.delete(path);
    try {
      if (readFileSync(path, 'utf8').trim() === owner) unlinkSync(path);
    } catch {
      // Already gone: nothing to release.
    }
  };
};
