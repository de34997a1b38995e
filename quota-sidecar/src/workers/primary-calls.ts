import cluster from 'node:cluster';
import { ERROR_CODES, TollgateError, type ErrorCode } from '@tollgate/core';

/**
 * Calls from the workers of a node:cluster service to its primary, over the IPC channel
 * node:cluster sets up: a worker asks, the primary answers that worker. Each kind of call has
 * its own name; values and errors travel as JSON, and a TollgateError arrives as one.
 */

interface Call {
  type: 'tollgate:call';
  name: string;
  id: number;
  payload: unknown;
}

interface Answer {
  type: 'tollgate:answer';
  name: string;
  id: number;
  value?: unknown;
  error?: { message: string; code?: string; extensions?: Record<string, unknown> };
}

const isCall = (m: unknown): m is Call => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'tollgate:call';
const isAnswer = (m: unknown): m is Answer => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'tollgate:answer';

const toError = (e: NonNullable<Answer['error']>): Error =>
  e.code !== undefined && e.code in ERROR_CODES ? new TollgateError(e.code as ErrorCode, e.message, e.extensions) : new Error(e.message);

/** In the primary: answers every worker's `name` calls with what `handle` returns or throws. */
export const answerWorkerCalls = <P, V>(name: string, handle: (payload: P, workerId: number) => V | Promise<V>): void => {
  cluster.on('message', (worker, message: unknown) => {
    if (!isCall(message) || message.name !== name) return;
    const reply = (answer: Pick<Answer, 'value' | 'error'>) => {
      if (worker.isConnected()) worker.send({ type: 'tollgate:answer', name, id: message.id, ...answer } satisfies Answer);
    };
    Promise.resolve()
      .then(() => handle(message.payload as P, worker.id))
      .then(
        (value) => reply({ value: value ?? null }),
        (err: unknown) =>
          reply({
            error:
              err instanceof TollgateError
                ? { message: err.message, code: err.code, extensions: err.extensions }
                : { message: err instanceof Error ? err.message : String(err) },
          }),
      );
  });
};

const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
let nextId = 0;
let listening = false;

const onAnswer = (message: unknown) => {
  if (!isAnswer(message)) return;
  const call = pending.get(message.id);
  if (!call) return;
  pending.delete(message.id);
  if (message.error) call.reject(toError(message.error));
  else call.resolve(message.value);
};

/** In a worker: calls `name` in the primary; rejects when no answer comes within `timeoutMs`. */
export const callPrimary = <V>(name: string, payload: unknown, timeoutMs = 10_000): Promise<V> =>
  new Promise<V>((resolve, reject) => {
    if (!process.send) {
      reject(new Error(`${name}: this process is not a cluster worker`));
      return;
    }
    if (!listening) {
      process.on('message', onAnswer);
      listening = true;
    }
    const id = nextId++;
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`${name}: the primary did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    pending.set(id, {
      resolve: (value) => (clearTimeout(timer), resolve(value as V)),
      reject: (err) => (clearTimeout(timer), reject(err)),
    });
    process.send({ type: 'tollgate:call', name, id, payload } satisfies Call);
  });
