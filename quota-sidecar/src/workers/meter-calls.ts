import type { CreateMeterResult, MeterDefinition, MeterWrites, StoredMeter } from '@tollgate/core/meters';
import { answerWorkerCalls, callPrimary } from './primary-calls.ts';

/**
 * Meter creates and deletes of a sidecar that runs as several workers: they all run in the
 * primary, one at a time (its repository serialises them), so that two creates of one slug
 * through different workers cannot both see the slug free, even on a ClickHouse server that
 * runs their inserts concurrently. Reads need no primary: every worker reads ClickHouse.
 */
const METER_CALL = 'meters';

type MeterCall = { op: 'create'; definition: MeterDefinition } | { op: 'delete'; idOrSlug: string };

/** In the primary: runs the workers' meter writes on `writes`. */
export const serveMeterWritesToWorkers = (writes: MeterWrites): void => {
  // A delete that found nothing travels as null (answerWorkerCalls sends no value as null).
  answerWorkerCalls(METER_CALL, (call: MeterCall): Promise<CreateMeterResult | StoredMeter | undefined> =>
    call.op === 'create' ? writes.create(call.definition) : writes.delete(call.idOrSlug),
  );
};

/** In a worker: the primary's meter writes. */
export const meterWritesViaPrimary = (): MeterWrites => ({
  create: (definition) => callPrimary<CreateMeterResult>(METER_CALL, { op: 'create', definition } satisfies MeterCall),
  delete: async (idOrSlug) => (await callPrimary<StoredMeter | null>(METER_CALL, { op: 'delete', idOrSlug } satisfies MeterCall)) ?? undefined,
});
