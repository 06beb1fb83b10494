import type { QueryConfig, QueryResult, QueryResultRow } from "pg";

/** A pool or a client inside a transaction: adapters work with either. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(config: QueryConfig | string, values?: unknown[]): Promise<QueryResult<R>>;
}
