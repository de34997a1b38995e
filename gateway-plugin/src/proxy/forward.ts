import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { UpstreamHeaders } from './hop-by-hop.ts';

export interface UpstreamRequest {
  method: string;
  /** Path and query, starting with `/`. */
  path: string;
  headers: string[];
  body: Readable | null;
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: UpstreamHeaders;
  /**
   * The upstream body: whole when it arrived with the response head (the common small
   * answer, sent to the client in one write with the head), else a stream fed as it
   * arrives; null when the status or method has none.
   */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
}

const NO_BODY_STATUS = new Set([101, 204, 205, 304]);

/**
 * Sends one request through `dispatcher` and resolves at the response headers. The body is
 * a stream fed chunk by chunk from the socket, with backpressure: the upstream socket is
 * paused while the stream's queue is full and resumed when the client reads again.
 * Rejects with undici's error when no response headers arrive (refused, reset, timeout).
 */
export const forward = (dispatcher: Dispatcher, request: UpstreamRequest): Promise<UpstreamResponse> =>
  new Promise((resolve, reject) => {
    let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
    let control: Dispatcher.DispatchController | undefined;
    let settled = false;
    // The body chunks received before the first microtask after the response head.
    let buffered: Buffer[] | undefined;
    let head: { status: number; headers: UpstreamHeaders } | undefined;
    const onAbort = () => control?.abort(request.signal.reason instanceof Error ? request.signal.reason : new Error('client went away'));
    const done = () => request.signal.removeEventListener('abort', onAbort);

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        control = controller;
        if (request.signal.aborted) onAbort();
        else request.signal.addEventListener('abort', onAbort, { once: true });
      },
      onResponseStart(controller, statusCode, headers) {
        // Informational responses (103 Early Hints) are not forwarded; the final one follows.
        if (statusCode < 200) return;
        settled = true;
        if (request.method === 'HEAD' || NO_BODY_STATUS.has(statusCode)) {
          resolve({ status: statusCode, headers, body: null });
          return;
        }
        // The parser reports the head, the body and the end of a response that came in one
        // socket read synchronously, before any microtask: hold the chunks until then, and
        // answer with the whole body when it is complete, else with a stream of it.
        buffered = [];
        queueMicrotask(() => {
          if (!buffered) return;
          const held = buffered;
          buffered = undefined;
          const body = new ReadableStream<Uint8Array>({
            start(c) {
              stream = c;
              for (const chunk of held) c.enqueue(chunk);
            },
            pull() {
              if (controller.paused) controller.resume();
            },
            cancel(reason) {
              controller.abort(reason instanceof Error ? reason : new Error('response body cancelled'));
            },
          });
          if ((stream?.desiredSize ?? 0) <= 0) controller.pause();
          resolve({ status: statusCode, headers, body });
        });
        head = { status: statusCode, headers };
      },
      onResponseData(controller, chunk) {
        if (buffered) {
          buffered.push(chunk);
          return;
        }
        if (!stream) return;
        stream.enqueue(chunk);
        if ((stream.desiredSize ?? 0) <= 0) controller.pause();
      },
      onResponseEnd() {
        done();
        if (buffered && head) {
          const chunks = buffered;
          buffered = undefined;
          const body = chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
          resolve({ status: head.status, headers: head.headers, body });
          return;
        }
        try {
          stream?.close();
        } catch {
          // Cancelled by the client before the end arrived.
        }
      },
      onResponseError(_controller, err) {
        done();
        if (buffered) {
          // Failed before the body was handed on: the client gets the error, as without a head.
          buffered = undefined;
          reject(err);
          return;
        }
        if (!settled) {
          settled = true;
          reject(err);
          return;
        }
        try {
          stream?.error(err);
        } catch {
          // The client already cancelled the body; there is nobody left to tell.
        }
      },
    };
    dispatcher.dispatch(
      { method: request.method as Dispatcher.HttpMethod, path: request.path, headers: request.headers, body: request.body },
      handler,
    );
  });
