import { InProcessProfile } from '../profile/in-process-profile.ts';

/** What a server child tells the scenario that started it, over the IPC channel. */
export type ChildMessage =
  | { type: 'ready'; port: number; workers?: number[] }
  | { type: 'stats'; stats: Record<string, number> }
  | { type: 'profiling' }
  | { type: 'profiled'; file: string };

/** What the scenario may ask a server child. */
export type ParentMessage = { type: 'stats' } | { type: 'stop' } | { type: 'profile-start' } | { type: 'profile-stop'; file: string };

let profile: InProcessProfile | undefined;

/** CPU profile of a window chosen by the scenario (the measured runs only, without start-up and warm-up). */
const profileStart = async () => {
  profile ??= new InProcessProfile();
  await profile.start();
};

const profileStop = async (file: string) => {
  if (!profile) throw new Error('profile-stop without profile-start');
  await profile.stop(file);
  profile = undefined;
};

export interface AnnounceOptions {
  /** Answers the parent's stats request (the process's memory figures are added). */
  stats?: () => Record<string, number> | Promise<Record<string, number>>;
  /** Closes the server and its clients before a clean exit. */
  onStop?: () => Promise<void>;
  /** Pids of the worker processes that serve the port, when the server runs several. */
  workers?: number[];
}

/** The port a server child listens on: BENCH_PORT when started by hand (e.g. to profile it alone), else any free one. */
export const listenPort = (): number => Number(process.env.BENCH_PORT ?? 0);

/**
 * Reports a listening server to the scenario that started it, and serves its requests:
 * `stats`, and `stop`, which exits cleanly so that `--cpu-prof` writes its profile.
 */
export const announce = (port: number, { stats = () => ({}), onStop = async () => {}, workers }: AnnounceOptions = {}): void => {
  const send = (message: ChildMessage) => process.send?.(message);
  const stop = () => {
    // A stop that hangs (a stuck connection) must not keep the process, or its profile, hostage.
    setTimeout(() => process.exit(0), 5_000).unref();
    void onStop().finally(() => process.exit(0));
  };
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stats') {
      const m = process.memoryUsage();
      const memory = { 'memory.rss': m.rss, 'memory.heapTotal': m.heapTotal, 'memory.heapUsed': m.heapUsed, 'memory.external': m.external };
      void Promise.resolve(stats()).then((s) => send({ type: 'stats', stats: { ...memory, ...s } }));
    }
    else if (message.type === 'stop') stop();
    else if (message.type === 'profile-start') void profileStart().then(() => send({ type: 'profiling' }));
    else if (message.type === 'profile-stop') void profileStop(message.file).then(() => send({ type: 'profiled', file: message.file }));
  });
  // The IPC channel closing means the scenario that started us is gone.
  process.on('disconnect', stop);
  if (process.send) send({ type: 'ready', port, ...(workers ? { workers } : {}) });
  else console.log(`listening on http://127.0.0.1:${port}`);
};
