import type { MeterEntry } from './meter-registry.ts';

/** A meter as OpenMeter's API shows it (GET /api/v1/meters). */
export interface OpenMeterMeter {
  id: string;
  slug: string;
  name: string;
  description?: string;
  aggregation: MeterEntry['meter']['aggregation'];
  eventType: string;
  eventFrom?: string;
  valueProperty?: string;
  groupBy: Record<string, string>;
  metadata?: Record<string, string>;
  /** The finest window a query may ask for; OpenMeter's older clients require the field. */
  windowSize: 'MINUTE';
  createdAt: string;
  updatedAt: string;
}

/**
 * A configured meter's id is its slug, and it was created and last updated when this process
 * loaded the configuration; a created meter has a ULID and the time it was stored (meters are
 * never updated). The subject is not a group-by path in OpenMeter (every query may group by
 * it), so `subject: true` is not listed.
 */
export const meterView = ({ meter, id, name, metadata, createdAt }: MeterEntry): OpenMeterMeter => ({
  id,
  slug: meter.slug,
  name,
  ...(meter.description ? { description: meter.description } : {}),
  aggregation: meter.aggregation,
  eventType: meter.eventType,
  ...(meter.eventFrom === undefined ? {} : { eventFrom: new Date(meter.eventFrom).toISOString() }),
  // Paths are kept in OpenMeter's form (into `data`), whichever form the meter was defined in.
  ...(meter.valueProperty ? { valueProperty: meter.valueProperty } : {}),
  groupBy: { ...meter.groupBy },
  ...(metadata ? { metadata: { ...metadata } } : {}),
  windowSize: 'MINUTE',
  createdAt,
  updatedAt: createdAt,
});
