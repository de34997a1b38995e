import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import { HotHistogram } from './hot-histogram.ts';

/** The one registry of the process; every metric of every service is defined in this file. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** A counter series counted per request: see countingCell. */
export interface CountingCell {
  inc(value?: number): void;
}

const cells = new WeakMap<Counter<string>, { labels: LabelValues<string>; n: number }[]>();

/** Adds what the cells of `counter` counted since the last read; runs whenever the counter is read. */
function foldCells(this: Counter<string>): void {
  for (const cell of cells.get(this) ?? []) {
    if (cell.n === 0) continue;
    const n = cell.n;
    cell.n = 0;
    this.inc(cell.labels, n);
  }
}

/**
 * One series of a counter for the hot path: increments add to a plain number, which is
 * added to the counter whenever the counter is read (a scrape, `get()`), so every read
 * sees every increment. prom-client validates and hashes the labels on each `inc`, even
 * for a bound child; this is one addition. Only for counters defined with `collect: foldCells`.
 */
export const countingCell = <T extends string>(counter: Counter<T>, labels: LabelValues<T> = {}): CountingCell => {
  const cell = { labels, n: 0 };
  const list = cells.get(counter) ?? [];
  list.push(cell);
  cells.set(counter, list);
  return {
    inc(value = 1) {
      cell.n += value;
    },
  };
};

// What the event logs of this process hold unstored, read at each scrape (see reportEventLogBacklog).
const eventLogBacklogs = new Set<() => number>();

/** Adds an event log's backlog to `tollgate_event_log_backlog_events`; returns the removal. */
export const reportEventLogBacklog = (backlog: () => number): (() => void) => {
  eventLogBacklogs.add(backlog);
  return () => eventLogBacklogs.delete(backlog);
};

export const metrics = {
  creditDecisions: new Counter({
    name: 'tollgate_credit_decisions_total',
    help: 'Credit decisions by outcome (debited, denied, refunded, unverified, free, unavailable)',
    labelNames: ['decision', 'component'] as const,
    registers: [registry],
    collect: foldCells,
  }),
  // Observed on every request: HotHistogram, which costs a fraction of prom-client's Histogram.
  storeLatency: new HotHistogram({
    name: 'tollgate_credit_store_latency_seconds',
    help: 'Latency of credit store calls, failures included',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  }),
  storeErrors: new Counter({
    name: 'tollgate_credit_store_errors_total',
    help: 'Credit store calls that failed or exceeded the timeout budget',
    labelNames: ['operation', 'reason'] as const,
    registers: [registry],
  }),
  topUps: new Counter({
    name: 'tollgate_topups_total',
    help: 'Top-up requests by result (created, replayed, conflict, rejected)',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  upstreamLatency: new HotHistogram({
    name: 'tollgate_upstream_latency_seconds',
    help: 'Time to the upstream response headers, failures included',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  }),
  eventsEmitted: new Counter({
    name: 'tollgate_events_emitted_total',
    help: 'Events handed to the producer path (Kafka emitter or local event log), counted once, by the emitter',
    registers: [registry],
    collect: foldCells,
  }),
  httpRequests: new Counter({
    name: 'tollgate_http_requests_total',
    help: 'HTTP requests answered, by service and status class',
    labelNames: ['service', 'status'] as const,
    registers: [registry],
    collect: foldCells,
  }),
  // Names that existing OpenMeter dashboards expect.
  eventsIngested: new Counter({
    name: 'openmeter_events_ingested_total',
    help: 'Events entering the metering path, by where they came from (gateway, quota-sidecar decisions, ingest-api)',
    labelNames: ['origin'] as const,
    registers: [registry],
    collect: foldCells,
  }),
  eventsProcessed: new Counter({
    name: 'openmeter_events_processed_total',
    help: 'Events the sink has taken off the topic or the local event log, by outcome (inserted, duplicate, dead_letter)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  queryLatency: new Histogram({
    name: 'openmeter_query_latency_seconds',
    help: 'Latency of meter queries, failures included',
    labelNames: ['meter', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  }),
  consumerLag: new Gauge({
    name: 'tollgate_sink_consumer_lag',
    help: 'Messages on the topic not yet committed by the sink, per partition',
    labelNames: ['partition'] as const,
    registers: [registry],
  }),
  deadLettered: new Counter({
    name: 'tollgate_sink_dead_lettered_total',
    help: 'Events sent to the dead-letter topic, or to the dead-letter file of the local event log',
    registers: [registry],
  }),
  sinkBatchSize: new Histogram({
    name: 'tollgate_sink_batch_size',
    help: 'Messages per sink write',
    buckets: [1, 10, 100, 500, 1000, 5000, 10_000, 50_000],
    registers: [registry],
  }),
  sinkFlushLatency: new Histogram({
    name: 'tollgate_sink_flush_latency_seconds',
    help: 'Time to store one batch in ClickHouse (dedupe lookup and insert), failures included',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  }),
  sinkWriteFailures: new Counter({
    name: 'tollgate_sink_write_failures_total',
    help: 'Batches ClickHouse did not take; each is retried with back-off and nothing is committed meanwhile',
    registers: [registry],
  }),
  // The event writer (core/src/clickhouse/event-writer.ts), shared by the sink, the single process and replay.
  eventsWritten: new Counter({
    name: 'tollgate_events_written_total',
    help: 'Events given to the event writer, by writer and outcome (inserted, duplicate, refused: ClickHouse refused it on its own)',
    labelNames: ['writer', 'outcome'] as const,
    registers: [registry],
  }),
  eventWriteFailures: new Counter({
    name: 'tollgate_event_write_failures_total',
    help: 'Writes ClickHouse did not take (nothing refused on its own: the writer retries the whole write), by writer and ClickHouse error code',
    labelNames: ['writer', 'code'] as const,
    registers: [registry],
  }),
  eventWritesFenced: new Counter({
    name: 'tollgate_event_writes_fenced_total',
    help: 'Writes whose claim on their stream was superseded by another writer (the sink lost the partition while paused)',
    labelNames: ['writer'] as const,
    registers: [registry],
  }),
  eventWriteLatency: new Histogram({
    name: 'tollgate_event_write_latency_seconds',
    help: 'Time of one event write (every statement and the receipt), failures included',
    labelNames: ['writer', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  }),
  spoolDepth: new Gauge({
    name: 'tollgate_emitter_spool_events',
    help: 'Events waiting in the local disk spool while Kafka is unreachable',
    registers: [registry],
  }),
  spoolBytes: new Gauge({
    name: 'tollgate_emitter_spool_bytes',
    help: 'Bytes of the local disk spool segments (bounded by SPOOL_MAX_BYTES)',
    registers: [registry],
  }),
  emitterInFlight: new Gauge({
    name: 'tollgate_emitter_in_flight_events',
    help: 'Events taken from the linger buffer and not yet acknowledged by Kafka nor on disk in the spool',
    registers: [registry],
  }),
  emitterBatchEvents: new Histogram({
    name: 'tollgate_emitter_batch_events',
    help: 'Events per delivery of the Kafka emitter (what its linger gathered): the producer costs less per event in larger batches',
    buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000],
    registers: [registry],
  }),
  eventLogBacklog: new Gauge({
    name: 'tollgate_event_log_backlog_events',
    help: 'Events in the local event log (no Kafka) not yet stored in ClickHouse',
    registers: [registry],
    collect() {
      let n = 0;
      for (const backlog of eventLogBacklogs) n += backlog();
      this.set(n);
    },
  }),
  eventLogFailures: new Counter({
    name: 'tollgate_event_log_failures_total',
    help: 'Operations of the local event log that failed, by operation (append, fsync, checkpoint)',
    labelNames: ['operation'] as const,
    registers: [registry],
  }),
  eventsUnrecorded: new Counter({
    name: 'tollgate_emitter_unrecorded_total',
    help: 'Events that could not be recorded: the spool was full (policy: serve), or the event log refused appends past its bound or until the stop',
    registers: [registry],
  }),
  reconcileDrift: new Counter({
    name: 'tollgate_reconcile_drift_total',
    help: 'Credits by which reconciliation moved balances (absolute), by cause',
    labelNames: ['cause'] as const,
    registers: [registry],
  }),
  reconcileRuns: new Counter({
    name: 'tollgate_reconcile_runs_total',
    help: 'Reconciliation runs by kind (incremental, full) and outcome',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  }),
  reconcileDuration: new Histogram({
    name: 'tollgate_reconcile_duration_seconds',
    help: 'Time of one reconciliation run, failures included',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  }),
  reconcileSubjects: new Counter({
    name: 'tollgate_reconcile_subjects_total',
    help: 'Subjects reconciled, by result (applied; stale: a newer watermark was applied already; out_of_range: a target beyond 2^53 - 1 left the balance as it was; not-restored: left for the restore)',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  reconcileRestores: new Counter({
    name: 'tollgate_reconcile_restores_total',
    help: 'Restores of a credit store that lost its state, by outcome (restored; superseded: the store was wiped again during it) and whether the metering path had caught up',
    labelNames: ['outcome', 'caught_up'] as const,
    registers: [registry],
  }),
  replayEvents: new Counter({
    name: 'tollgate_replay_events_total',
    help: 'Events a replay stored again (inserted) or found stored already (duplicate)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  replays: new Counter({
    name: 'tollgate_replays_total',
    help: 'Replays finished, by result (done, failed)',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  storeUp: new Gauge({
    name: 'tollgate_credit_store_up',
    help: '1 when the credit store answered its last health check',
    registers: [registry],
  }),
};

/** Observes `fn`'s latency in `finally`, so failures are measured too. */
export const timed = async <T>(histogram: Histogram<'operation' | 'outcome'>, operation: string, fn: () => Promise<T>): Promise<T> => {
  const end = histogram.startTimer({ operation });
  let outcome = 'error';
  try {
    const value = await fn();
    outcome = 'ok';
    return value;
  } finally {
    end({ outcome });
  }
};
