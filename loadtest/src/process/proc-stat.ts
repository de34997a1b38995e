import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/**
 * CPU time a process has used, from /proc/<pid>/stat (Linux). On a shared machine the
 * CPU a server spends per request is a steadier measure of its cost than its throughput,
 * which moves with whatever else the machine runs.
 */
export interface CpuTime {
  userMs: number;
  systemMs: number;
}

/** Clock ticks per second of /proc's time fields (USER_HZ); 100 on every common Linux. */
export const clockTicksPerSecond = (): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
};

/**
 * Reads utime and stime (fields 14 and 15). The command name (field 2) is in parentheses
 * and may itself contain spaces and parentheses, so fields are counted after the last ')'.
 */
export const parseProcStat = (text: string, ticksPerSecond: number): CpuTime => {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new Error('not a /proc/<pid>/stat line');
  const fields = text.slice(end + 1).trim().split(/\s+/);
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error('/proc/<pid>/stat has no utime/stime');
  return { userMs: (utime * 1000) / ticksPerSecond, systemMs: (stime * 1000) / ticksPerSecond };
};

const ticks = clockTicksPerSecond();

export const readCpuTime = async (pid: number): Promise<CpuTime> => parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'), ticks);

/** CPU milliseconds each process used between `start` and the returned function's call. */
export const measureCpu = async (pids: Record<string, number>): Promise<() => Promise<Record<string, number>>> => {
  const total = async (pid: number) => {
    const t = await readCpuTime(pid);
    return t.userMs + t.systemMs;
  };
  const before = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, await total(pid)] as const)));
  return async () =>
    Object.fromEntries(
      await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, (await total(pid)) - (before[name] ?? 0)] as const)),
    );
};
