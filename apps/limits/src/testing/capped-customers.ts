import { createPool, migrate, type Pool } from "@tally/platform";
import { createTestDatabase, type TestDatabase } from "@tally/platform/testing";
import { limitsService } from "../limits-service";

export interface CappedCustomersDatabase {
  db: TestDatabase;
  pool: Pool;
  /** Drops the pool and the database. */
  close(): Promise<void>;
}

/**
 * A migrated limits database with `customers` on plan pro in January 2026, each having used
 * `used` tokens under a hard cap of `cap` tokens: the setting of the Check specs that race holds
 * against Postgres without the rest of the service.
 */
export async function cappedCustomersDatabase(customers: readonly string[], { used, cap }: { used: number; cap: number }): Promise<CappedCustomersDatabase> {
  const db = await createTestDatabase();
  const pool = createPool(db.url, "limits");
  await migrate(pool, "limits", limitsService.migrations);
  await pool.query("INSERT INTO known_meters (meter_key) VALUES ('tokens')");
  for (const c of customers) {
    await pool.query(
      `INSERT INTO customers (customer_id, subscription_id, plan_key, plan_version, status, period_start, period_end, revision)
         VALUES ($1, 'sub-' || $1, 'pro', 1, 'active', '2026-01-01Z', '2026-02-01Z', 1);
       INSERT INTO meter_usage (customer_id, meter_key, period_start, quantity, spend) VALUES ($1, 'tokens', '2026-01-01Z', ${used}, 0);
       INSERT INTO limits (limit_id, customer_id, meter_key, kind, measure, value, currency, alerts)
         VALUES ('lim-' || $1, $1, 'tokens', 'hard_cap', 'units', ${cap}, '', '[]');`.replace(/\$1/g, `'${c}'`),
    );
  }
  return {
    db,
    pool,
    close: async () => {
      await pool.end();
      await db.drop();
    },
  };
}
