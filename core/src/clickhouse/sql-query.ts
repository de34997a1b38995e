import type { ClickHouseClient } from '@clickhouse/client';

/** A query and its parameters, as the pure SQL builders return them. */
export interface SqlQuery {
  query: string;
  params: Record<string, unknown>;
}

/** Runs a built query and reads its rows: the one way Tollgate reads rows from ClickHouse. */
export const queryRows = async <T>(ch: Pick<ClickHouseClient, 'query'>, { query, params }: SqlQuery): Promise<T[]> =>
  (await ch.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
