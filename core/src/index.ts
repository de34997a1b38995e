/**
 * The vocabulary every package shares, loading no client: errors and their codes, the logger,
 * subject names, ULIDs and backoff. The rest of core is grouped by what a service needs, each
 * group a subpath of @tollgate/core (see core/package.json): a service imports the groups it
 * uses, so it never loads a Kafka, Valkey or ClickHouse client it does not talk to.
 */
export * from './errors.ts';
export * from './logger.ts';
export * from './subject.ts';
export * from './ulid.ts';
export * from './backoff.ts';
