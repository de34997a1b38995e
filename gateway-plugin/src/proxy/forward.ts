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
  /** The upstream body as it arrives; null when the status or method has none. */
  body: ReadableStream<Uint8Array> | null;
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
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            stream = c;
          },
          pull() {
            if (controller.paused) controller.resume();
          },
          cancel(reason) {
            controller.abort(reason instanceof Error ? reason : new Error('response body cancelled'));
          },
        });
        resolve({ status: statusCode, headers, body });
      },
      onResponseData(controller, chunk) {
        if (!stream) return;
        stream.enqueue(chunk);
        if ((stream.desiredSize ?? 0) <= 0) controller.pause();
      },
      onResponseEnd() {
        done();
        try {
          stream?.close();
        } catch {
          // Cancelled by the client before the end arrived.
        }
      },
      onResponseError(_controller, err) {
        done();
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
