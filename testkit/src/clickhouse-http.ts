import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChdbFront } from './chdb-http-front.ts';
import { waitFor } from './wait-for.ts';

const FRONT = new URL('./chdb-http-front.ts', import.meta.url).pathname;

/** A ClickHouse HTTP endpoint that several processes can share: a chDB front in a child process. */
export interface ClickHouseFront {
  /** For `openClickHouse({ url })` or `CLICKHOUSE_URL`. */
  url: ChdbFront['url'];
  /** Stops the front (SIGTERM, then waits); removes the data directory if the harness made it. */
  stop(): Promise<void>;
}

export const startClickHouseFront = async ({ dataDir, port = 0 }: { dataDir?: string; port?: number } = {}): Promise<ClickHouseFront> => {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'tollgate-chdb-'));
  const child = spawn(process.execPath, [FRONT, dir, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (!dataDir) rmSync(dir, { recursive: true, force: true });
  };

  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('listening ')) resolve(line.slice('listening '.length));
    });
    void exited.then(() => reject(new Error(`ClickHouse front exited with code ${String(child.exitCode)}: ${stderr}`)));
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  await waitFor(async () => (await fetch(`${url}/ping`)).ok, { what: `ClickHouse front at ${url}` });
  return { url, stop };
};
