import type { PoolClient } from "@tally/platform";

/** A pool or a client in a transaction: anything that can run a query. */
export type Db = Pick<PoolClient, "query">;
