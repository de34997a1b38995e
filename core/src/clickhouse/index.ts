/**
 * @tollgate/core/clickhouse: opening ClickHouse (a server, or the embedded engine on a data
 * directory), the migrations, running a query and reading its rows, and the idempotent event
 * writer with its fence and health. Loads the ClickHouse client.
 */
export * from './client.ts';
export * from './sql-query.ts';
export * from './time.ts';
export * from './migrations.ts';
export * from './event-writer.ts';
export * from './write-fence.ts';
export * from './write-health.ts';
