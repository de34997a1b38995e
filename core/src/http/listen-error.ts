/** What a service knows about the port it failed to listen on, to name the cause and the fix. */
export interface ListenTarget {
  /** The service, as the line starts: `gateway`, `quota-sidecar`, … */
  service: string;
  port: number;
  /** The environment variable that chooses the port. */
  variable: string;
  /** The address it listened on, and the variable that chooses it, when there is one. */
  host?: { address: string; variable: string } | undefined;
}

const codeOf = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;

/** One line that names why a server could not listen and which variable to change. */
export const listenErrorLine = ({ service, port, variable, host }: ListenTarget, err: unknown): string => {
  const where = host ? `${host.address}:${port}` : `port ${port}`;
  switch (codeOf(err)) {
    case 'EADDRINUSE':
      return `${service}: ${where} is in use by another process: stop it, or set ${variable} to a free port`;
    case 'EACCES':
      return `${service}: not allowed to listen on ${where}: set ${variable} to a port above 1023`;
    case 'EADDRNOTAVAIL':
      return `${service}: ${host?.address ?? 'the address'} is not an address of this host: set ${host?.variable ?? variable} to one of its addresses`;
    default:
      return `${service}: cannot listen on ${where}: ${err instanceof Error ? err.message : String(err)}`;
  }
};

/** A server that reports a failed listen as an 'error' event (node:http, @hono/node-server). */
interface Listener {
  once(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'listening', listener: () => void): unknown;
}

/**
 * Ends the process with exit code 1 and one line on stderr (listenErrorLine) when `server`
 * cannot listen, instead of an unhandled 'error' event and its stack trace. Once it listens,
 * later errors are left to the server.
 */
export const exitUnlessListening = (server: Listener, target: ListenTarget): void => {
  const fail = (err: Error) => {
    process.stderr.write(`${listenErrorLine(target, err)}\n`);
    process.exit(1);
  };
  server.once('error', fail);
  server.once('listening', () => server.off('error', fail));
};

/** The server `serving` resolves with; a failed listen ends the process as exitUnlessListening does. */
export const servedOrExit = <T>(serving: Promise<T>, target: ListenTarget): Promise<T> =>
  serving.catch((err: unknown) => {
    process.stderr.write(`${listenErrorLine(target, err)}\n`);
    return process.exit(1);
  });
