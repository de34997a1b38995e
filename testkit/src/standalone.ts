import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { waitFor } from './wait-for.ts';

const MAIN = new URL('../../standalone/src/main.ts', import.meta.url).pathname;
export const STANDALONE_TOKEN = 'standalone-test-token';

/** One `npm start` process (standalone/src/main.ts) on data directories under `dataDir`. */
export interface Standalone {
  child: ChildProcess;
  ports: StandalonePorts;
  gatewayUrl: string;
  sidecarUrl: string;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StandaloneOptions {
  dataDir: string;
  env?: Record<string, string>;
  /** Waits for both /readyz (default), or returns as soon as the process runs. */
  waitReady?: boolean;
  /** The ports of a previous run, so that clients find the restarted process where they left it. */
  ports?: StandalonePorts;
}

export interface StandalonePorts {
  gateway: number;
  sidecar: number;
  upstream: number;
}

export const startStandalone = async ({ dataDir, env = {}, waitReady = true, ports }: StandaloneOptions): Promise<Standalone> => {
  const { gateway: port, sidecar: sidecarPort, upstream: upstreamPort } = ports ?? { gateway: await freePort(), sidecar: await freePort(), upstream: await freePort() };
  let output = '';
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      SIDECAR_PORT: String(sidecarPort),
      SAMPLE_UPSTREAM_PORT: String(upstreamPort),
      CLICKHOUSE_DATA_DIR: join(dataDir, 'chdb'),
      EVENT_LOG_DIR: join(dataDir, 'event-log'),
      ADMIN_TOKENS: STANDALONE_TOKEN,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (running()) child.kill(signal);
    return exited;
  };
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const sidecarUrl = `http://127.0.0.1:${sidecarPort}`;
  if (waitReady) {
    try {
      await waitFor(
        async () => {
          if (!running()) throw new Error(`npm start exited: ${output}`);
          return (await fetch(`${sidecarUrl}/readyz`)).ok && (await fetch(`${gatewayUrl}/readyz`)).ok;
        },
        { timeoutMs: 60_000, intervalMs: 50, what: 'npm start to be ready' },
      );
    } catch (err) {
      await stop('SIGKILL');
      throw err;
    }
  }
  return { child, ports: { gateway: port, sidecar: sidecarPort, upstream: upstreamPort }, gatewayUrl, sidecarUrl, output: () => output, exited, stop };
};

/** An admin API call of a running `npm start`. */
export const adminCall = (s: Standalone, path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${s.sidecarUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${STANDALONE_TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
  });

/** The events the local event log holds unstored, from /metrics. */
export const eventLogBacklog = async (s: Standalone): Promise<number> => {
  const text = await (await fetch(`${s.sidecarUrl}/metrics`)).text();
  const m = /^tollgate_event_log_backlog_events (\d+)$/m.exec(text);
  if (!m) throw new Error('no tollgate_event_log_backlog_events in /metrics');
  return Number(m[1]);
};

/** Tops up `subject` through the admin API (one idempotency key per subject) and checks the 201. */
export const grantCredits = async (s: Standalone, subject: string, amount: number): Promise<void> => {
  const res = await adminCall(s, `/admin/v1/subjects/${subject}/credits`, {
    method: 'POST',
    headers: { 'idempotency-key': `grant-${subject}` },
    body: JSON.stringify({ amount, reason: 'test' }),
  });
  if (res.status !== 201) throw new Error(`top-up of ${subject} answered ${res.status}: ${await res.text()}`);
};

/** The real-time balance of `subject`, from the admin API. */
export const balanceOf = async (s: Standalone, subject: string): Promise<number> =>
  ((await (await adminCall(s, `/admin/v1/subjects/${subject}/balance`)).json()) as { balance: number }).balance;

/** Sync runs that completed, from /metrics. */
export const completedSyncRuns = async (s: Standalone): Promise<number> => {
  const text = await (await fetch(`${s.sidecarUrl}/metrics`)).text();
  return [...text.matchAll(/^tollgate_reconcile_runs_total\{[^}]*outcome="ok"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
};
