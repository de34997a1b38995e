import type { CloudEventV1 } from 'cloudevents';
import type { DeliveryProgress } from './delivery-progress.ts';

/**
 * Where the gateway hands its events. `emit` never blocks the request: an implementation
 * buffers and delivers in the background (in-process bus now, Kafka in production).
 */
/** What an event path reports for readiness and metrics. */
export interface EventPathStatus {
  /** Events recorded locally and not yet stored (the local event log); 0 where none are kept. */
  backlog: number;
  /** Why events are not being recorded or stored right now; absent while all is well. */
  problem?: string;
}

export interface EventEmitter {
  emit(event: CloudEventV1<unknown>): void;
  /** False when new events cannot be recorded and the operator chose to refuse requests meanwhile. */
  readonly accepting?: boolean;
  /** For /readyz: the backlog, and what is wrong if anything is. */
  status?(): EventPathStatus;
  /**
   * Where an emitter that holds events in memory before they are delivered (Kafka) counts
   * them, for a restore's wait (restore-acks.ts); absent where an emit is already durable.
   */
  readonly progress?: DeliveryProgress;
  /** Resolves when every event emitted so far has been delivered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
