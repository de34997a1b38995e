import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEventV1 } from 'cloudevents';
import type { EventEmitter } from '@tollgate/core/events';
import { EventLog } from '@tollgate/core/event-path';

/** Lines the relay reads back per batch, as the log's sink reads them. */
const RELAY_BATCH = 2_000;
/** Longest the relay waits for a batch to fill. */
const RELAY_WAIT_MS = 50;

/**
 * BENCH_OUTBOX=log: what the local event log would cost the split gateway as its outbox before
 * Kafka. Every event is appended to an event log (one synchronous write,
 * fsync grouped every EVENT_LOG_FSYNC_MS, as `npm start` does) before it goes to the Kafka path,
 * and a relay reads the log back in batches and acknowledges them (a durable checkpoint each),
 * as an outbox relay would before sending them. The Kafka path still serialises the event
 * itself: a real outbox would send the log's line as the record's value instead, so this
 * measures one JSON.stringify per event more than such an outbox would spend.
 */
export const outboxTee = (kafkaPath: EventEmitter): EventEmitter => {
  const log = new EventLog({ dir: mkdtempSync(join(tmpdir(), 'bench-outbox-')), fsyncMs: Number(process.env.EVENT_LOG_FSYNC_MS ?? 5) });
  let closing = false;
  const relay = (async () => {
    while (!closing) {
      await log.waitForPending(RELAY_BATCH, RELAY_WAIT_MS);
      const batch = await log.read(RELAY_BATCH);
      if (batch.lines.length > 0) await log.acknowledge(batch.end, batch.lines.length);
    }
  })();
  return {
    emit(e: CloudEventV1<unknown>) {
      log.append(`${JSON.stringify(e)}\n`);
      kafkaPath.emit(e);
    },
    get accepting() {
      return kafkaPath.accepting;
    },
    flush: () => kafkaPath.flush(),
    close: async () => {
      closing = true;
      log.interrupt();
      await relay;
      await log.close();
      await kafkaPath.close();
    },
  };
};
