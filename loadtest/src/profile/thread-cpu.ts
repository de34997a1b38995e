import { readdirSync, readFileSync } from 'node:fs';

/** CPU ms of each thread of this process, by thread id, with its name (Linux: /proc/self/task; empty elsewhere). */
export type ThreadTimes = Map<string, { name: string; ms: number }>;

// /proc reports clock ticks; Linux's USER_HZ is 100 on every architecture Node supports.
const TICK_MS = 10;

export const threadTimes = (): ThreadTimes => {
  const times: ThreadTimes = new Map();
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return times;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // "tid (name) state …": the name may hold spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the name.
      times.set(tid, { name: stat.slice(stat.indexOf('(') + 1, close), ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return times;
};

/**
 * CPU ms spent between two readings, summed by thread name (threads of one pool share a name),
 * largest first. Threads that ended in between are missing.
 */
export const threadTimesSince = (before: ThreadTimes, after: ThreadTimes = threadTimes()): { name: string; ms: number }[] => {
  const byName = new Map<string, number>();
  for (const [tid, { name, ms }] of after) byName.set(name, (byName.get(name) ?? 0) + ms - (before.get(tid)?.ms ?? 0));
  return [...byName].map(([name, ms]) => ({ name, ms })).filter((t) => t.ms > 0).sort((a, b) => b.ms - a.ms);
};
