import { answerWorkerCalls, callPrimary } from './primary-calls.ts';

const WORKER_INDEX_CALL = 'worker-index';

/** In the primary: answers each worker's question with `indexOf(worker id)`. */
export const answerWorkerIndex = (indexOf: (workerId: number) => number | undefined): void => {
  answerWorkerCalls(WORKER_INDEX_CALL, (_payload: unknown, workerId) => {
    const index = indexOf(workerId);
    if (index === undefined) throw new Error(`worker ${workerId} has no index`);
    return index;
  });
};

/** In a worker: its index, asked of the primary (a worker restarted after a crash keeps its index). */
export const askWorkerIndex = (timeoutMs = 10_000): Promise<number> => callPrimary<number>(WORKER_INDEX_CALL, null, timeoutMs);
