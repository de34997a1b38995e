import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService } from './service-process.ts';
import { waitFor } from './wait-for.ts';

const recorder = new URL('./record-loaded-packages.ts', import.meta.url).pathname;

export interface LoadedPackages {
  /** The npm packages the process loaded, by name (`iovalkey`, `@clickhouse/client`). */
  packages: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <args>` (a module, or `--input-type=module -e <code>`) from the repository root
 * with `env`, and tells which npm packages it loaded before it exited. An ES module's static
 * imports are all loaded before its first line runs, so a service that exits at its
 * configuration check has loaded its whole start-up import graph. With `until`, the process is
 * a service that keeps running: once its stdout matches, it is stopped with SIGTERM, so what it
 * loaded while starting (dynamic imports included) is counted.
 */
export const loadedPackages = async (args: string[], env: Record<string, string> = {}, { until }: { until?: RegExp } = {}): Promise<LoadedPackages> => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-loaded-'));
  const file = join(dir, 'packages.json');
  try {
    const child = spawnService(process.execPath, ['--import', recorder, ...args], { ...env, LOADED_PACKAGES_FILE: file });
    let exited = false;
    void child.exited.then(() => (exited = true));
    if (until) {
      await waitFor(() => until.test(child.stdout()) || exited, { timeoutMs: 60_000, what: `${args.join(' ')} to print ${String(until)}` });
      if (!exited) await child.stop('SIGTERM');
    }
    const exitCode = await child.exited;
    // The recorder writes on a normal exit only: a process that died another way says how here.
    if (!existsSync(file)) throw new Error(`${args.join(' ')} exited (code ${exitCode}) without recording its packages; stderr:\n${child.stderr()}\nstdout:\n${child.stdout().slice(-2_000)}`);
    const packages = JSON.parse(readFileSync(file, 'utf8')) as string[];
    return { packages, exitCode, stdout: child.stdout(), stderr: child.stderr() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
