import { healthRoutes, type Readiness } from '@tollgate/core/service';
import type { SinkReadiness } from './readiness.ts';

/** The sink's readiness as every service shows it: what it holds, and each reason it is not ready. */
export const sinkReadiness = (readiness: SinkReadiness): Readiness => ({
  checks: {
    consumer: readiness.consumerRunning,
    storage: readiness.storageHealthy,
    partitions: readiness.assignedPartitions,
    lag: readiness.groupLag,
  },
  problems: readiness.reasons,
});

/** Liveness, readiness (with the reasons when not ready) and Prometheus metrics. */
export const createSinkHealthApp = (readiness: SinkReadiness) => healthRoutes({ readiness: () => sinkReadiness(readiness) });
