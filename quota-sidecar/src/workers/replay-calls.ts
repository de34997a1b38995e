import { answerWorkerCalls, callPrimary } from './primary-calls.ts';
import type { ReplayProgress, ReplayRequest } from '../replay/replay.ts';
import type { Replays } from '../replay/replay-registry.ts';

/**
 * Replays of a sidecar that runs as several workers: a replay's progress lives in one process,
 * the primary, and every worker asks it, so that any worker answers for any replay.
 */
const REPLAY_CALL = 'replay';

type ReplayCall = { op: 'start'; request: ReplayRequest } | { op: 'get'; id: string };

/** In the primary: runs the workers' replay calls on `replays`. */
export const serveReplaysToWorkers = (replays: Replays): void => {
  // An unknown id travels as null (answerWorkerCalls sends no value as null).
  answerWorkerCalls(REPLAY_CALL, (call: ReplayCall) => (call.op === 'start' ? replays.start(call.request) : replays.get(call.id)));
};

/** In a worker: the primary's replays. */
export const replaysViaPrimary = (): Replays => ({
  start: (request) => callPrimary<ReplayProgress>(REPLAY_CALL, { op: 'start', request } satisfies ReplayCall),
  get: async (id) => (await callPrimary<ReplayProgress | null>(REPLAY_CALL, { op: 'get', id } satisfies ReplayCall)) ?? undefined,
});
