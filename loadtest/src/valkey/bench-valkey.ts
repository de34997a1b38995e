import { startValkey } from '@tollgate/testkit/valkey';
import { readInfo, valkeyPid } from './info.ts';

/** The Valkey a scenario runs against: started on this machine, or the one given with --valkey-url. */
export interface BenchValkey {
  url: string;
  host: string;
  port: number;
  /** User and password from the URL, for valkey-benchmark. */
  user: string | undefined;
  password: string | undefined;
  /** The server's process when it was started here: its CPU time is counted with the system's. */
  pid: number | undefined;
  /** One line for the log: where it runs. */
  description: string;
  /** Stops a server started here; leaves a given one running. */
  stop(): Promise<void>;
}

const credentials = (url: URL) => ({
  user: url.username ? decodeURIComponent(url.username) : undefined,
  password: url.password ? decodeURIComponent(url.password) : undefined,
});

/**
 * A Valkey for one scenario. By default one is started on a free loopback port, on the cores
 * that also run the proxies and wrk. With `externalUrl`, that server is used as it is, and
 * must answer first.
 */
export const openBenchValkey = async (externalUrl: string | undefined): Promise<BenchValkey> => {
  if (externalUrl !== undefined) {
    const url = new URL(externalUrl);
    const where = `${url.hostname}:${url.port || 6379}`;
    const version = await readInfo(externalUrl, 'server').then(
      (info) => info.valkey_version ?? info.redis_version ?? 'unknown version',
      (err: unknown) => {
        throw new Error(`the Valkey given with --valkey-url (${where}) does not answer: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    return {
      url: externalUrl,
      host: url.hostname,
      port: Number(url.port || 6379),
      ...credentials(url),
      pid: undefined,
      description: `valkey ${version} at ${where}, given with --valkey-url: its CPU time is not counted`,
      stop: async () => {},
    };
  }
  const server = await startValkey();
  try {
    return {
      url: server.url,
      host: '127.0.0.1',
      port: server.port,
      user: undefined,
      password: undefined,
      pid: await valkeyPid(server.url),
      description: `valkey on ${server.url}, started on this machine`,
      stop: server.stop,
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
};
