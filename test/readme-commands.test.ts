import { mkdtempSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningServer } from '@tollgate/core/service';
import { startSampleUpstream } from '@tollgate/sample-upstream';
import { freePort } from '@tollgate/testkit/free-port';
import { startKafka, type KafkaBroker } from '@tollgate/testkit/kafka';
import { spawnService, untilReady, type ServiceProcess } from '@tollgate/testkit/service-process';
import { waitFor } from '@tollgate/testkit/wait-for';

/**
 * The README's "Running the services one by one", run as written: the ClickHouse without
 * Docker, then each service's command, with the machine's `node` (not the project's Node 24)
 * first on PATH, as a new user has it. Each starts, says in its first log line which
 * configuration it runs with, and answers /healthz on its port. Only the addresses change: the
 * suite's Valkey, a broker of its own, free ports and folders of its own.
 */
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The commands of the section's ```sh blocks, continuation lines joined and comments dropped. */
const documentedCommands = (): string[][] => {
  const section = README.split(/^## Running the services one by one$/m)[1]?.split(/^## /m)[0] ?? '';
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks.map((block) =>
    block
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').replace(/\s*&$/, '').trim())
      .filter(Boolean),
  );
};

interface Command {
  env: Record<string, string>;
  argv: string[];
}
const parse = (line: string): Command => {
  const words = line.split(/\s+/);
  const env: Record<string, string> = {};
  while (words[0] !== undefined && /^[A-Z_]+=/.test(words[0])) {
    const [name = '', ...value] = (words.shift() ?? '').split('=');
    env[name] = value.join('=');
  }
  return { env, argv: words };
};

/** PATH without the project's node_modules/.bin: `node` is then the machine's. */
const machinePath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => !dir.includes('node_modules'))
  .join(delimiter);

const [setup = [], services = []] = documentedCommands();
const clickhouseLine = setup.find((line) => line.startsWith('npm run clickhouse'));
const serviceLines = services.map(parse);
const workspaceOf = ({ argv }: Command) => argv[argv.indexOf('-w') + 1] ?? '';

let broker: KafkaBroker;
let upstream: RunningServer;
let clickhouse: ServiceProcess | undefined;
let clickhouseUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'tollgate-readme-'));

/** Stops what a command started: SIGTERM to its process group (npm, its script's shell, the service). */
const stop = async (service: ServiceProcess) => {
  try {
    process.kill(-service.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  await service.stop('SIGTERM');
};

beforeAll(async () => {
  [broker, upstream] = await Promise.all([startKafka(), startSampleUpstream()]);
  // The documented ClickHouse, on a port and in a folder of this test.
  const port = await freePort();
  clickhouse = spawnService('npm', ['run', 'clickhouse', '--', join(dir, 'clickhouse'), String(port)], { PATH: machinePath });
  clickhouseUrl = `http://127.0.0.1:${port}`;
}, 120_000);
afterAll(async () => {
  if (clickhouse) await stop(clickhouse);
  await broker?.close();
  await upstream?.close();
});

/** A documented address, replaced by the one this test runs. */
const address = (value: string): string =>
  value
    .replace('redis://127.0.0.1:6379', inject('valkeyUrl'))
    .replace('http://127.0.0.1:8123', clickhouseUrl)
    .replace('http://127.0.0.1:9000', upstream.url)
    .replace('127.0.0.1:9092', broker.brokers);

describe("README: running the services one by one", () => {
  it('documents a ClickHouse without Docker and the four services, each with its workspace script', () => {
    expect(clickhouseLine).toBeDefined();
    expect(serviceLines.map(workspaceOf)).toEqual(['gateway-plugin', 'quota-sidecar', 'meter-sink', 'sync-worker']);
    for (const { argv } of serviceLines) expect(argv.slice(0, 2)).toEqual(['npm', 'start']);
  });

  it('npm run clickhouse -- DATA_DIR PORT serves ClickHouse from a data directory', async () => {
    expect((clickhouseLine ?? '').split(/\s+/).slice(0, 4)).toEqual(['npm', 'run', 'clickhouse', '--']);
    expect((clickhouseLine ?? '').split(/\s+/)).toHaveLength(6);
    if (!clickhouse) throw new Error('not started');
    await untilReady(clickhouse, `${clickhouseUrl}/ping`);
    const res = await fetch(`${clickhouseUrl}/?query=${encodeURIComponent('SELECT 1 + 1 FORMAT JSONEachRow')}`);
    expect(await res.json()).toEqual({ 'plus(1, 1)': 2 });
  });

  it.each(serviceLines.map((command) => [workspaceOf(command), command] as const))('%s starts as written, names its configuration, answers /healthz', async (workspace, { env, argv }) => {
    if (clickhouse) await untilReady(clickhouse, `${clickhouseUrl}/ping`);
    const port = await freePort();
    const own = join(dir, workspace);
    const service = spawnService(argv[0] ?? '', argv.slice(1), {
      ...Object.fromEntries(Object.entries(env).map(([name, value]) => [name, address(value)])),
      PATH: machinePath,
      PORT: String(port),
      ...(workspace === 'gateway-plugin' ? { METRICS_PORT: String(await freePort()) } : {}),
      KAFKA_TOPIC: `readme-${randomUUID()}`,
      SPOOL_DIR: join(own, 'spool'),
      EVENT_LOG_DIR: join(own, 'event-log'),
      CLICKHOUSE_DATA_DIR: join(own, 'chdb'),
    });
    try {
      await untilReady(service, `http://127.0.0.1:${port}/healthz`);
      const startLine = await waitFor(
        () => service.stdout().split('\n').find((line) => /"level":"info".*"config":/.test(line)),
        { timeoutMs: 60_000, what: `${workspace}'s start line` },
      );
      const config = (JSON.parse(startLine) as { config: string }).config;
      if (env.TOLLGATE_CONFIG) expect(config).toMatch(new RegExp(`^${env.TOLLGATE_CONFIG.replaceAll('.', '\\.')} \\(\\d+ routes, \\d+ meters, subject `));
      else expect(config).toMatch(/^environment only/);
    } finally {
      await stop(service);
    }
    expect(service.stderr()).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
  });
});
