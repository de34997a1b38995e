import cluster from 'node:cluster';

/** A worker asks the primary which worker it is; the answer carries the index. */
interface IndexMessage {
  type: 'tollgate:worker-index';
  index?: number;
}

const isIndexMessage = (m: unknown): m is IndexMessage =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'tollgate:worker-index';

/** In the primary: answers each worker's question with `indexOf(worker id)`. */
export const answerWorkerIndex = (indexOf: (workerId: number) => number | undefined): void => {
  cluster.on('message', (worker, message: unknown) => {
    if (!isIndexMessage(message)) return;
    const index = indexOf(worker.id);
    if (index !== undefined) worker.send({ type: 'tollgate:worker-index', index } satisfies IndexMessage);
  });
};

/** In a worker: its index, asked of the primary (a worker restarted after a crash keeps its index). */
export const askWorkerIndex = (timeoutMs = 10_000): Promise<number> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error(`the primary did not tell this worker its index within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: unknown) => {
      if (!isIndexMessage(message) || message.index === undefined) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(message.index);
    };
    process.on('message', onMessage);
    process.send?.({ type: 'tollgate:worker-index' } satisfies IndexMessage);
  });
