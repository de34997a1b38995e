import { healthRoutes as serviceHealthRoutes, probe } from '@tollgate/core/service';
import { metrics, registry } from '@tollgate/core/metrics';
import type { CreditStore } from '@tollgate/core/credits';
import type { EventPathStatus } from '@tollgate/core/events';

export interface HealthOptions {
  store: CreditStore;
  ready?: (() => Promise<boolean>) | undefined;
  /** The Prometheus text of /metrics: this process's registry, or every worker's when run as several. */
  metricsText?: (() => Promise<string>) | undefined;
  /** The event path's backlog and problem (the local event log): shown, and not ready while it has a problem. */
  events?: (() => EventPathStatus | undefined) | undefined;
}

/** The sidecar's `/healthz`, `/readyz` (the store, ClickHouse, the event path) and `/metrics`. */
export const healthRoutes = ({ store, ready, metricsText = () => registry.metrics(), events }: HealthOptions) =>
  serviceHealthRoutes({
    metricsText,
    readiness: async () => {
      const [storeUp, dependenciesUp] = await Promise.all([probe(() => store.ping()), ready ? probe(ready) : Promise.resolve(true)]);
      metrics.storeUp.set(storeUp ? 1 : 0);
      const eventPath = events?.();
      const problems = [
        ...(storeUp ? [] : ['the credit store does not answer']),
        ...(dependenciesUp ? [] : ['ClickHouse does not answer']),
        ...(eventPath?.problem ? [eventPath.problem] : []),
      ];
      return { checks: { store: storeUp, dependencies: dependenciesUp, ...(eventPath ? { events: eventPath } : {}) }, problems };
    },
  });
