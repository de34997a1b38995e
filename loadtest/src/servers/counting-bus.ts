import { InProcessBus } from '@tollgate/core';

/**
 * The in-process event bus with one subscriber that only counts what it receives, by
 * outcome: `events`, `events.debited`, `events.status.2xx`, … The bus is what a service
 * runs without Kafka; counting proves every call produced its event.
 */
export const countingBus = () => {
  const bus = new InProcessBus();
  const counts: Record<string, number> = { events: 0 };
  const count = (key: string) => (counts[key] = (counts[key] ?? 0) + 1);
  bus.subscribe((batch) => {
    for (const e of batch) {
      const data = e.data as { decision?: string; status_code?: number } | undefined;
      count('events');
      count(`events.${data?.decision ?? 'none'}`);
      count(`events.status.${Math.floor((data?.status_code ?? 0) / 100)}xx`);
    }
  });
  return { bus, counts };
};
