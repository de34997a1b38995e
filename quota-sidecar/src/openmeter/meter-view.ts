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
  // Paths are kept in OpenMeter's form (into `data`), whichever form the meter was defined in.
  ...(meter.valueProperty ? { valueProperty: meter.valueProperty } : {}),
  groupBy: { ...meter.groupBy },
  windowSize: 'MINUTE',
  createdAt: definedAt,
  updatedAt: definedAt,
});
