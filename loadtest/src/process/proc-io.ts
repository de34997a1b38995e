import { readFile } from 'node:fs/promises';

/** Read and write system calls a process has made, from /proc/<pid>/io (Linux). */
export interface SyscallCounts {
  reads: number;
  writes: number;
}

export const parseProcIo = (text: string): SyscallCounts => {
  const field = (name: string) => {
    const m = new RegExp(`^${name}: (\\d+)$`, 'm').exec(text);
    if (!m) throw new Error(`/proc io has no ${name} line`);
    return Number(m[1]);
  };
  return { reads: field('syscr'), writes: field('syscw') };
};

export const readSyscalls = async (pid: number): Promise<SyscallCounts> => parseProcIo(await readFile(`/proc/${pid}/io`, 'utf8'));
