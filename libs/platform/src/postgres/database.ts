import { Pool, types, type PoolClient, type PoolConfig } from "pg";

export type { Pool, PoolClient };

const SCHEMA_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * A pool whose connections see only the service's own schema first on the
 * search path: each service owns its schema and never reads another's.
 */
export function createPool(databaseUrl: string, schema: string, options: PoolConfig = {}): Pool {
  assertSchemaName(schema);
  const pool = new Pool({
    connectionString: databaseUrl,
    max: 10,
    options: `-c search_path=${schema}`,
    application_name: `tally-${schema}`,
    // A database that accepts TCP but does not answer (recovering, overloaded) fails the
    // checkout instead of hanging the rpc; the caller gets UNAVAILABLE and retries.
    connectionTimeoutMillis: 5_000,
    ...options,
  });
  // A connection that dies (Postgres restarted or crashed: 57P01, ECONNRESET, "terminated
  // unexpectedly") makes its client emit "error". The pool listens only on idle clients, and an
  // "error" event without a listener kills the process; so every client gets a listener for
  // its whole life. The query in flight still fails with the error, and the pool drops the
  // broken client when it is released; the next checkout opens a fresh connection.
  pool.on("connect", (client) => client.on("error", ignoreConnectionError));
  pool.on("error", ignoreConnectionError);
  return pool;
}

function ignoreConnectionError(): void {
  // Reported where it matters: to the query that was running, and by the health watch.
}

export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name "${schema}"`);
}

/** Postgres error code, when the error came from Postgres. */
export function pgErrorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

export const PG_UNIQUE_VIOLATION = "23505";
export const PG_SERIALIZATION_FAILURE = "40001";
export const PG_DEADLOCK_DETECTED = "40P01";

/**
 * Query-config `types` that leave every column as Postgres sent it (text, or null): for hot reads
 * that compare a row with the one they read before and parse only what changed (the default
 * parsers build Dates, parse JSON and so on for every column of every row).
 */
export const RAW_TEXT_TYPES = { getTypeParser: () => (value: string) => value };

/** A column kept as text by {@link RAW_TEXT_TYPES}, parsed as pg would have (by its type oid). */
export function parseColumn(dataTypeID: number, text: string | null): unknown {
  return text === null ? null : (types.getTypeParser(dataTypeID, "text") as (value: string) => unknown)(text);
}
