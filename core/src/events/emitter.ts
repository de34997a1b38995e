import type { CloudEventV1 } from 'cloudevents';

/**
 * Where the gateway hands its events. `emit` never blocks the request: an implementation
 * buffers and delivers in the background (in-process bus now, Kafka in production).
 */
export interface EventEmitter {
  emit(event: CloudEventV1<unknown>): void;
  /** False when new events cannot be recorded and the operator chose to refuse requests meanwhile. */
  readonly accepting?: boolean;
  /** Resolves when every event emitted so far has been delivered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
