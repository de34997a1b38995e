import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./kafka-clients-child.ts', import.meta.url));

/** What one measurement in kafka-clients-child.ts printed: messages handled, its CPU and wall time. */
export interface ChildMeasurement {
  messages: number;
  cpuUs: number;
  seconds: number;
  /** Sends made (produce-batches only). */
  sends?: number;
}

/** Runs one measurement of kafka-clients-child.ts in a process of its own and reads its JSON line. */
export const measureInChild = (args: string[]): Promise<ChildMeasurement> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}\n${err}`));
      else resolve(JSON.parse(line) as ChildMeasurement);
    });
  });
