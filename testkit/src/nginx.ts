import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait-for.ts';

const INSTALL_HINT =
  'nginx is not installed: run `sudo bash deploy/scripts/install-system-deps.sh` (Debian package nginx), ' +
  'or set NGINX_BIN to an nginx binary built with the auth_request module';

/** A real nginx in the foreground, with its prefix, pid, logs and temp paths in a temp directory. */
export interface NginxServer {
  port: number;
  url: string;
  /** Everything nginx wrote to its error log so far. */
  errorLog(): string;
  stop(): Promise<void>;
}

const binary = (): string => {
  const configured = process.env.NGINX_BIN;
  if (configured) return configured;
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) {
    if (existsSync(candidate)) return candidate;
  }
  if (spawnSync('sh', ['-c', 'command -v nginx']).status === 0) return 'nginx';
  throw new Error(INSTALL_HINT);
};

/** Fills `${NAME}` placeholders (upper case only: nginx's own `$variables` stay); a placeholder without a value is an error. */
export const renderTemplate = (template: string, values: Record<string, string>): string =>
  template.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for the placeholder \${${name}}`);
    return value;
  });

/** Reads a committed template (a path relative to the repository root) and renders it. */
export const renderRepoTemplate = (path: string, values: Record<string, string>): string =>
  renderTemplate(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'), values);

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * Starts nginx with `http` holding `site` (server blocks, upstreams, maps) on `port`, which the
 * site must listen on. Fails with nginx's own message when the configuration is invalid.
 */
export const startNginx = async ({ site, port }: { site: string; port: number }): Promise<NginxServer> => {
  const bin = binary();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-nginx-'));
  const temp = (name: string) => {
    const path = join(dir, 'temp', name);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const errorLog = join(dir, 'error.log');
  writeFileSync(join(dir, 'site.conf'), site);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${errorLog} info;
events { worker_connections 256; }
http {
  access_log ${join(dir, 'access.log')};
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  include ${join(dir, 'site.conf')};
}
`,
  );
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', errorLog];
  const readLog = () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');

  const check = spawnSync(bin, ['-t', ...args], { encoding: 'utf8' });
  if (check.error) throw new Error(`${INSTALL_HINT} (${check.error.message})`);
  if (check.status !== 0) throw new Error(`nginx rejected the configuration:\n${check.stderr}${readLog()}`);

  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const exitedEarly = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`nginx exited (${code ?? signal}) while starting: ${stderr}${readLog()}`))),
  );
  exitedEarly.catch(() => {});
  try {
    await Promise.race([waitFor(() => listening(port), { what: `nginx on port ${port}`, timeoutMs: 10_000 }), exitedEarly]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, url: `http://127.0.0.1:${port}`, errorLog: readLog, stop };
};
