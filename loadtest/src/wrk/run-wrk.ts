import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseWrkOutput, type WrkResult } from './parse-wrk-output.ts';

const SCRIPTS = {
  get: fileURLToPath(new URL('../../wrk/get.lua', import.meta.url)),
  authorize: fileURLToPath(new URL('../../wrk/authorize.lua', import.meta.url)),
};

export interface WrkRunOptions {
  url: string;
  durationS: number;
  connections: number;
  threads: number;
  /** Hard bound on the run's requests; wrk threads stop once they reach their share. */
  maxRequests: number;
  headers?: Record<string, string>;
  /** `get`: method and headers from the command line; `authorize`: POST of an authorize body for `subject`. */
  script?: keyof typeof SCRIPTS;
  subject?: string;
}

export interface WrkRun extends WrkResult {
  command: string;
  /** The run reached its request bound and stopped early: its req/s is not a measurement. */
  capped: boolean;
}

export const wrkArgs = (o: WrkRunOptions): string[] => {
  const perThread = Math.ceil(o.maxRequests / o.threads);
  const script = o.script ?? 'get';
  return [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    '--latency',
    ...Object.entries(o.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    '-s',
    SCRIPTS[script],
    o.url,
    '--',
    String(perThread),
    ...(script === 'authorize' ? [o.subject ?? 'tpp-bench'] : []),
  ];
};

/** Runs wrk once (killed if it overruns its duration by 30 s) and parses its report. */
export const runWrk = (o: WrkRunOptions): Promise<WrkRun> => {
  const args = wrkArgs(o);
  const command = `wrk ${args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.durationS + 30) * 1000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run wrk (install it: deploy/scripts/install-system-deps.sh): ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${command} failed (${signal ?? code}):\n${out}`));
      try {
        const result = parseWrkOutput(out);
        resolve({ ...result, command, capped: result.requests >= o.maxRequests });
      } catch (err) {
        reject(err);
      }
    });
  });
};
