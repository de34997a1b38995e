/** @tollgate/core/meters: meters (definitions, their store and their queries), the event listing and the subjects of the OpenMeter-compatible API. Takes a ClickHouse client from its caller. */
export * from './meter.ts';
export * from './query-sql.ts';
export * from './query-meter.ts';
export * from './meter-definition.ts';
export * from './stored-meter-sql.ts';
export * from './meter-repository.ts';
export * from './meter-subjects-sql.ts';
export * from './list-events-sql.ts';
export * from './event-meter-errors.ts';
export * from '../subjects/subject-sql.ts';
export * from '../subjects/subject-repository.ts';
