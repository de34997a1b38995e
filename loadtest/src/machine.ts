import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

/** What the figures were measured on; benchmark numbers mean nothing without it. */
export interface MachineNotes {
  date: string;
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  /** 1-minute load average when the benchmark started: a busy machine explains low figures. */
  loadAverage: number;
  node: string;
  valkey: string;
  wrk: string;
}

const firstLine = (command: string, args: string[]): string => {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]?.trim() || 'not installed';
};

export const machineNotes = (): MachineNotes => ({
  date: new Date().toISOString(),
  nproc: availableParallelism(),
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 1024 ** 3),
  loadAverage: loadavg()[0] ?? 0,
  node: process.version,
  // "Valkey server v=8.0.1 sha=…" → "8.0.1"
  valkey: /v=(\S+)/.exec(firstLine('valkey-server', ['--version']))?.[1] ?? 'not installed',
  // "wrk debian/4.1.0-3+b2 [epoll] Copyright …" → "debian/4.1.0-3+b2 [epoll]"
  wrk: firstLine('wrk', ['-v']).replace(/^wrk\s+/, '').replace(/\s+Copyright.*$/, ''),
});
