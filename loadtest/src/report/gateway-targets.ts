import type { BenchOptions } from '../options.ts';

export interface GatewayTargets {
  /** Least throughput against the bare proxy, both co-located with their dependencies. */
  throughputRatio: number;
  addedP99Ms: number;
  /** Most p99 added at light load (no queueing). */
  lightAddedP99Ms: number;
  /** Most gateway-process CPU per request against the bare proxy's (the primary gauge); undefined: none. */
  cpuRatio: number | undefined;
  peakRssBytes: number;
}

/**
 * Targets by configuration: with Valkey and Kafka, CPU per request ≤ 1.35× the bare
 * proxy's and throughput ≥ 0.75× co-located, p99 ≤ +2 ms at 50 connections and ≤ +1 ms at light
 * load; with Valkey only, CPU ≤ 1.2×.
 */
export const targetsFor = (store: BenchOptions['store'], kafka: boolean): GatewayTargets => {
  const common = { addedP99Ms: 2, peakRssBytes: 200 * 1024 * 1024 };
  if (kafka) return { ...common, throughputRatio: 0.75, lightAddedP99Ms: 1, cpuRatio: 1.35 };
  return { ...common, throughputRatio: 0.85, lightAddedP99Ms: 2, cpuRatio: store === 'valkey' ? 1.2 : undefined };
};
