import type { EventEmitter } from '../events/emitter.ts';
import { countingCell, metrics } from './metrics.ts';

/** Where an event entered the metering path: `openmeter_events_ingested_total{origin}`. */
export type IngestOrigin = 'gateway' | 'quota-sidecar' | 'ingest-api';

/**
 * The emitter as seen by one entry point of the metering path, counting each event it hands
 * on in `openmeter_events_ingested_total{origin}` (one addition per event: see countingCell).
 * An event the emitter refused (it throws) is not counted.
 */
export const countIngested = (emitter: EventEmitter, origin: IngestOrigin): EventEmitter => {
  const ingested = countingCell(metrics.eventsIngested, { origin });
  return {
    emit(event) {
      emitter.emit(event);
      ingested.inc();
    },
    get accepting() {
      return emitter.accepting;
    },
    ...(emitter.progress ? { progress: emitter.progress } : {}),
    flush: () => emitter.flush(),
    close: () => emitter.close(),
  };
};
