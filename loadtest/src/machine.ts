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
  /** The commit measured, with "+ local changes" when the services' sources differ from it. */
  commit: string;
}

const firstLine = (command: string, args: string[]): string => {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]?.trim() || 'not installed';
};

const repoRoot = new URL('../../', import.meta.url).pathname;

const measuredCommit = (): string => {
  const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim();
  if (!head) return 'unknown';
  const dirty = spawnSync('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'core', 'gateway-plugin', 'quota-sidecar'], { encoding: 'utf8' }).stdout?.trim();
  return dirty ? `${head} + local changes in the services` : head;
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
  commit: measuredCommit(),
});
