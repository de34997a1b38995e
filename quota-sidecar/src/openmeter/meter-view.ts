import type { Meter } from '@tollgate/core';

/** A meter as OpenMeter's API shows it (GET /api/v1/meters). */
export interface OpenMeterMeter {
  id: string;
  slug: string;
  name: string;
  description?: string;
  aggregation: Meter['aggregation'];
  eventType: string;
  valueProperty?: string;
  groupBy: Record<string, string>;
  /** The finest window a query may ask for; OpenMeter's older clients require the field. */
  windowSize: 'MINUTE';
  createdAt: string;
  updatedAt: string;
}

/**
 * OpenMeter's paths point into the event's `data` (`$.tokens`); the configuration's point into
 * the event (`$.data.tokens`), so the `data` step is dropped. Every configured path starts with it.
 */
const dataRelative = (path: string): string => `$${path.slice('$.data'.length)}`;

/**
 * Meters come from configuration, so a meter's id is its slug, and it was created and last
 * updated when this process loaded the configuration (`definedAt`). The subject is not a
 * group-by path in OpenMeter (every query may group by it), so `subject: true` is not listed.
 */
export const meterView = (meter: Meter, definedAt: string): OpenMeterMeter => ({
  id: meter.slug,
  slug: meter.slug,
  name: meter.slug,
  ...(meter.description ? { description: meter.description } : {}),
  aggregation: meter.aggregation,
  eventType: meter.eventType,
  ...(meter.valueProperty ? { valueProperty: dataRelative(meter.valueProperty) } : {}),
  groupBy: Object.fromEntries(Object.entries(meter.groupBy).map(([key, path]) => [key, dataRelative(path)])),
  windowSize: 'MINUTE',
  createdAt: definedAt,
  updatedAt: definedAt,
});
