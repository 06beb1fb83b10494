import type { Pool, PoolClient } from "pg";
import { pgErrorCode, PG_DEADLOCK_DETECTED, PG_SERIALIZATION_FAILURE } from "./database";

/** The transaction lost a race and may simply run again. */
const RETRYABLE = new Set([PG_SERIALIZATION_FAILURE, PG_DEADLOCK_DETECTED]);

export interface TransactionOptions {
  /** Attempts in all, the first included (default 5); 1 = no retry. */
  attempts?: number;
  /** Told of each retry (log it, count it). */
  onRetry?: (info: { attempt: number; code: string }) => void;
  /** Waits before a retry; injected by tests. Default: 20 ms × attempt plus up to 50 ms of jitter. */
  backoff?: (attempt: number) => Promise<void>;
}

const defaultBackoff = (attempt: number) => new Promise<void>((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 50));

/**
 * Runs `work` in one transaction: committed if it resolves, rolled back if it throws. When
 * Postgres aborts it for a serialization failure or a deadlock, the whole of `work` runs again
 * in a fresh transaction (so `work` must not keep state outside the database between attempts),
 * up to `attempts` times; any other error is thrown at once.
 */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      const code = pgErrorCode(err);
      if (!code || !RETRYABLE.has(code) || attempt >= attempts) throw err;
      options.onRetry?.({ attempt, code });
      await (options.backoff ?? defaultBackoff)(attempt);
    } finally {
      client.release();
    }
  }
}
