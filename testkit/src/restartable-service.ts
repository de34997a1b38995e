import { spawnService, untilReady, type ServiceProcess } from './service-process.ts';

/** A service process (a `main.ts`) that a fault test kills and starts again, many times. */
export interface RestartableService {
  readonly name: string;
  /** Starts it (if it is not running) and waits until `ready` answers 200. */
  start(): Promise<void>;
  /** SIGKILL, as abrupt as a crash; waits for the exit. */
  kill(): Promise<void>;
  /** The output of every run so far, for a failure message. */
  output(): string;
}

export const restartableService = ({ name, main, env, ready }: { name: string; main: string; env: Record<string, string>; ready: string }): RestartableService => {
  let current: { service: ServiceProcess; exited: boolean } | undefined;
  let earlier = '';
  const outputOf = (s: ServiceProcess) => `${s.stdout()}${s.stderr()}`;
  return {
    name,
    async start() {
      if (current && !current.exited) return;
      const service = spawnService(process.execPath, [main], env);
      const run = { service, exited: false };
      void service.exited.then(() => (run.exited = true));
      current = run;
      await untilReady(service, ready);
    },
    async kill() {
      if (!current) return;
      const { service } = current;
      current = undefined;
      await service.stop('SIGKILL');
      earlier = `${earlier}${outputOf(service)}`.slice(-20_000);
    },
    output: () => `${earlier}${current ? outputOf(current.service) : ''}`.slice(-20_000),
  };
};
