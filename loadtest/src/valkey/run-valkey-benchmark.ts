import { spawn } from 'node:child_process';
import { parseValkeyBenchmarkCsv, type ValkeyBenchmarkRow } from './parse-valkey-benchmark.ts';

export interface ValkeyBenchmarkOptions {
  host: string;
  port: number;
  user?: string | undefined;
  password?: string | undefined;
  /** Total commands: the run's hard bound. */
  requests: number;
  clients: number;
  /** Commands in flight per client (1: unpipelined). */
  pipeline: number;
  command: string[];
}

export interface ValkeyBenchmarkRun extends ValkeyBenchmarkRow {
  requests: number;
  clients: number;
  pipeline: number;
}

/** One valkey-benchmark run of one command. */
export const runValkeyBenchmark = (o: ValkeyBenchmarkOptions): Promise<ValkeyBenchmarkRun> => {
  const auth = [...(o.user ? ['--user', o.user] : []), ...(o.password ? ['-a', o.password] : [])];
  const args = ['-h', o.host, '-p', String(o.port), ...auth, '-n', String(o.requests), '-c', String(o.clients), '-P', String(o.pipeline), '--csv', ...o.command];
  return new Promise((resolve, reject) => {
    const child = spawn('valkey-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run valkey-benchmark (install valkey: deploy/scripts/install-system-deps.sh): ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`valkey-benchmark failed (${signal ?? code}):\n${out}`));
      try {
        const [row] = parseValkeyBenchmarkCsv(out);
        if (!row) throw new Error(`valkey-benchmark reported no test:\n${out}`);
        resolve({ ...row, requests: o.requests, clients: o.clients, pipeline: o.pipeline });
      } catch (err) {
        reject(err);
      }
    });
  });
};
