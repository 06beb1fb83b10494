import type { PoolClient } from "@tally/platform";

/** Anything that runs a query: the pool or a client inside a transaction. */
export type Db = Pick<PoolClient, "query">;
