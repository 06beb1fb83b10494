import type { Pool, PoolClient } from "@tally/platform";

/** A pool or a client inside a transaction: stores work with either. */
export type Queryable = Pool | PoolClient;
