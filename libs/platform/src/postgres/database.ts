import { Pool, type PoolClient, type PoolConfig } from "pg";

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
    ...options,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on("error", () => undefined);
  return pool;
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
