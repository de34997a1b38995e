import type { KafkaBroker } from '@tollgate/testkit/kafka';
import { measured, type Contender, type MeasuredRun } from './alternate.ts';
import type { PairedComparison } from './report/compare.ts';
import { formatDeltaMs, formatMs, formatUs, type ReportRow } from './report/format.ts';

/** Most p99 the gateway may add while its broker is stopped (issue: an outage costs the request nothing). */
export const KAFKA_DOWN_ADDED_P99_MS = 2;

/** One more baseline/system pair after the rounds, with the broker stopped: what an outage costs a request. */
export interface KafkaDownRound {
  baseline: MeasuredRun;
  system: MeasuredRun;
  /** Events the gateway's spool held after the round (read from its stats). */
  spooled: number | undefined;
}

const p99 = (r: MeasuredRun) => r.percentiles?.p99Ms ?? Number.NaN;
const cpuPerRequestUs = (r: MeasuredRun) => (r.cpuMs.server === undefined ? undefined : (r.cpuMs.server * 1000) / Math.max(r.requests, 1));

/**
 * Stops the broker (controlled shutdown, as an operator would), then runs the bare proxy and the
 * gateway once each at the scenario's load. The broker's CPU is left out of this pair: it is not
 * running. The broker is started again afterwards, so that the gateway can drain its spool.
 */
export const runKafkaDownRound = async (
  { broker, baseline, system, durationS, spooled }: { broker: KafkaBroker; baseline: Contender; system: Contender; durationS: number; spooled: () => Promise<number | undefined> },
  log: (line: string) => void,
): Promise<KafkaDownRound> => {
  await broker.stop();
  log('broker stopped');
  try {
    const pids = Object.fromEntries(Object.entries(system.pids).filter(([role]) => role !== 'kafka'));
    const b = await measured(baseline, durationS);
    const s = await measured({ ...system, pids }, durationS);
    const held = await spooled();
    log(`broker stopped: ${baseline.label} p99 ${formatMs(p99(b))}; ${system.label} p99 ${formatMs(p99(s))}, ${held ?? '?'} events spooled`);
    return { baseline: b, system: s, spooled: held };
  } finally {
    await broker.start();
    log('broker started again');
  }
};

/** The round's lines: the gateway's p99 with its broker stopped against its p99 in the rounds before. */
export const kafkaDownRows = (scenario: string, down: KafkaDownRound, rounds: PairedComparison): ReportRow[] => {
  const added = p99(down.system) - rounds.system.p99Ms;
  return [
    {
      scenario,
      measure: 'p99 with the broker stopped',
      baseline: `gateway with Kafka ${formatMs(rounds.system.p99Ms)}`,
      system: `${formatMs(p99(down.system))} (${down.spooled ?? '?'} events spooled)`,
      comparison: `${formatDeltaMs(added)}; bare proxy in the same round ${formatMs(p99(down.baseline))}; gateway CPU ${formatUs(cpuPerRequestUs(down.system))}/request`,
      target: `≤ +${formatMs(KAFKA_DOWN_ADDED_P99_MS)}`,
      verdict: added <= KAFKA_DOWN_ADDED_P99_MS && (down.spooled ?? 0) > 0 ? 'pass' : 'MISS',
    },
  ];
};
