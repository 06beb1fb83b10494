import type { Aggregation } from "../domain/rate-plan";
import type { Db } from "./db";

export interface PlanRow {
  key: string;
  version: number;
  currency: string;
  definition: Uint8Array;
  aggregations: Record<string, Aggregation>;
  createTime: Date;
}

interface RawPlanRow {
  key: string;
  version: number;
  currency: string;
  definition: Buffer;
  aggregations: Record<string, Aggregation>;
  create_time: Date;
}

const COLUMNS = "key, version, currency, definition, aggregations, create_time";

function toRow(r: RawPlanRow): PlanRow {
  return { key: r.key, version: r.version, currency: r.currency, definition: r.definition, aggregations: r.aggregations, createTime: r.create_time };
}

/** Serialises version allocation per plan key for the rest of the transaction. */
export async function lockPlanKey(db: Db, key: string): Promise<void> {
  await db.query("SELECT pg_advisory_xact_lock(hashtext('rating.plan:' || $1))", [key]);
}

export async function insertPlan(db: Db, row: PlanRow): Promise<void> {
  await db.query(`INSERT INTO plans (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [
    row.key,
    row.version,
    row.currency,
    Buffer.from(row.definition),
    JSON.stringify(row.aggregations),
    row.createTime,
  ]);
}

/** One version, or the latest when version is 0. */
export async function getPlan(db: Db, key: string, version: number): Promise<PlanRow | undefined> {
  const { rows } = await db.query<RawPlanRow>(
    version > 0
      ? `SELECT ${COLUMNS} FROM plans WHERE key = $1 AND version = $2`
      : `SELECT ${COLUMNS} FROM plans WHERE key = $1 ORDER BY version DESC LIMIT 1`,
    version > 0 ? [key, version] : [key],
  );
  return rows[0] && toRow(rows[0]);
}

/** Latest version of every plan ordered by key, after `afterKey`. */
export async function listLatestPlans(db: Db, afterKey: string, limit: number): Promise<PlanRow[]> {
  const { rows } = await db.query<RawPlanRow>(
    `SELECT DISTINCT ON (key) ${COLUMNS} FROM plans WHERE key > $1 ORDER BY key, version DESC LIMIT $2`,
    [afterKey, limit],
  );
  return rows.map(toRow);
}

/** Every version of one plan, newest first, below `beforeVersion`. */
export async function listPlanVersions(db: Db, key: string, beforeVersion: number, limit: number): Promise<PlanRow[]> {
  const { rows } = await db.query<RawPlanRow>(
    `SELECT ${COLUMNS} FROM plans WHERE key = $1 AND version < $2 ORDER BY version DESC LIMIT $3`,
    [key, beforeVersion, limit],
  );
  return rows.map(toRow);
}
