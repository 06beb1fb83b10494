import type { QueryResult, QueryResultRow } from "pg";

/** A statement; a `name` makes it a prepared statement, parsed and planned once per connection. */
export interface Statement {
  name?: string;
  text: string;
  values?: unknown[];
  /** pg's per-query type parsers (e.g. RAW_TEXT_TYPES). */
  types?: { getTypeParser: (oid: number, format?: string) => (value: string) => unknown };
}

/** A pool or a client inside a transaction: every store function takes one. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
  query<R extends QueryResultRow = QueryResultRow>(statement: Statement): Promise<QueryResult<R>>;
}
