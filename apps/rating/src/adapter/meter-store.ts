import type { Aggregation, MeterInfo } from "../domain/rate-plan";
import type { Db } from "./db";

/** Rating's copy of meter definitions. */
export async function upsertMeter(db: Db, meter: MeterInfo): Promise<void> {
  // An ARCHIVED meter never becomes active again, whatever order the events arrive in.
  await db.query(
    `INSERT INTO meters (key, aggregation, group_by, active) VALUES ($1, $2, $3, $4)
     ON CONFLICT (key) DO UPDATE SET aggregation = EXCLUDED.aggregation, group_by = EXCLUDED.group_by,
       active = meters.active AND EXCLUDED.active, updated_at = now()`,
    [meter.key, meter.aggregation, meter.groupBy, meter.active],
  );
}

export async function getMeters(db: Db, keys: string[]): Promise<Map<string, MeterInfo>> {
  const { rows } = await db.query<{ key: string; aggregation: Aggregation; group_by: string[]; active: boolean }>(
    `SELECT key, aggregation, group_by, active FROM meters WHERE key = ANY($1::text[])`,
    [keys],
  );
  return new Map(rows.map((r) => [r.key, { key: r.key, aggregation: r.aggregation, groupBy: r.group_by, active: r.active }]));
}
