/** A query and its parameters, as the pure SQL builders return them. */
export interface SqlQuery {
  query: string;
  params: Record<string, unknown>;
}
