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
  /** CPU of the process's children that have exited and been waited for (cutime + cstime). */
  reapedChildrenMs: number;
}

/** Clock ticks per second of /proc's time fields (USER_HZ); 100 on every common Linux. */
export const clockTicksPerSecond = (): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
};

/**
 * Reads utime, stime, cutime and cstime (fields 14–17). The command name (field 2) is in parentheses
 * and may itself contain spaces and parentheses, so fields are counted after the last ')'.
 */
export const parseProcStat = (text: string, ticksPerSecond: number): CpuTime => {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new Error('not a /proc/<pid>/stat line');
  const fields = text.slice(end + 1).trim().split(/\s+/);
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const [utime, stime, cutime, cstime] = [14, 15, 16, 17].map((n) => Number(fields[n - 3]));
  if (![utime, stime, cutime, cstime].every((v) => Number.isInteger(v))) throw new Error('/proc/<pid>/stat has no utime/stime/cutime/cstime');
  const ms = (v: number | undefined) => ((v ?? 0) * 1000) / ticksPerSecond;
  return { userMs: ms(utime), systemMs: ms(stime), reapedChildrenMs: ms(cutime) + ms(cstime) };
};

const ticks = clockTicksPerSecond();

export const readCpuTime = async (pid: number): Promise<CpuTime> => parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'), ticks);

/** Stands for "children of this process that exit meanwhile" (a wrk run) in measureCpu's pids. */
export const REAPED_CHILDREN_PID = -1;

/**
 * CPU milliseconds each process used between the call and the returned function's call.
 * The pid REAPED_CHILDREN_PID stands for the children of this process that exit in between
 * (a wrk run): their CPU is only visible in this process's cutime/cstime once reaped.
 */
export const measureCpu = async (pids: Record<string, number>): Promise<() => Promise<Record<string, number>>> => {
  const total = async (pid: number) => {
    if (pid === REAPED_CHILDREN_PID) return (await readCpuTime(process.pid)).reapedChildrenMs;
    const t = await readCpuTime(pid);
    return t.userMs + t.systemMs;
  };
  const before = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, await total(pid)] as const)));
  return async () =>
    Object.fromEntries(
      await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, (await total(pid)) - (before[name] ?? 0)] as const)),
    );
};
