import type { PoolClient } from "pg";
import type { AggregationKind, Meter, MeterSpec, PropertyFilter } from "../domain/meter";
import type { Queryable } from "./queryable";

/**
 * Meters and the meter catalog lock. Ingest transactions hold the catalog lock shared, meter
 * changes exclusively: a meter change waits for in-flight ingest transactions to commit, and
 * an ingest transaction that starts after it sees the new catalog version. That is what lets a
 * new meter backfill every event recorded before it, and miss none recorded concurrently.
 */
const CATALOG_LOCK = `hashtext('tally.metering.meter_catalog')`;

interface MeterRow {
  key: string;
  event_type: string;
  aggregation: AggregationKind;
  value_property: string;
  group_by: string[];
  filters: PropertyFilter[];
  allow_negative: boolean;
  description: string;
  created_at: Date;
  archived_at: Date | null;
}

const COLUMNS = `key, event_type, aggregation, value_property, group_by, filters, allow_negative, description, created_at, archived_at`;

function toMeter(row: MeterRow): Meter {
  return {
    key: row.key,
    eventType: row.event_type,
    aggregation: row.aggregation,
    valueProperty: row.value_property,
    groupBy: row.group_by,
    filters: row.filters,
    allowNegative: row.allow_negative,
    description: row.description,
    state: row.archived_at ? "archived" : "active",
    createTime: row.created_at,
    archiveTime: row.archived_at ?? undefined,
  };
}

/**
 * Opens an ingest transaction: BEGIN, the shared catalog lock, then the catalog version. One
 * round trip; the version is read by its own statement, after the lock is granted, so it is
 * never older than a meter change that committed while we waited.
 */
export async function beginIngestTransaction(client: PoolClient): Promise<string> {
  const results = (await client.query(
    `BEGIN; SELECT pg_advisory_xact_lock_shared(${CATALOG_LOCK}); SELECT version::text AS version FROM meter_catalog`,
  )) as unknown as { rows: { version?: string }[] }[];
  const version = results[2]?.rows[0]?.version;
  if (version === undefined) throw new Error("meter_catalog has no row");
  return version;
}

/** For meter changes: waits for in-flight ingest transactions, bumps the version. */
export async function lockCatalogForChange(client: Queryable): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(${CATALOG_LOCK})`);
  await client.query(`UPDATE meter_catalog SET version = version + 1`);
}

export async function loadActiveMeters(client: Queryable): Promise<Meter[]> {
  const { rows } = await client.query<MeterRow>(`SELECT ${COLUMNS} FROM meters WHERE archived_at IS NULL ORDER BY key`);
  return rows.map(toMeter);
}

export async function findMeter(client: Queryable, key: string, forUpdate = false): Promise<Meter | undefined> {
  const { rows } = await client.query<MeterRow>(`SELECT ${COLUMNS} FROM meters WHERE key = $1${forUpdate ? " FOR UPDATE" : ""}`, [key]);
  return rows[0] && toMeter(rows[0]);
}

export async function countActiveMeters(client: Queryable, eventType: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM meters WHERE event_type = $1 AND archived_at IS NULL`,
    [eventType],
  );
  return rows[0]?.n ?? 0;
}

export async function insertMeter(client: Queryable, spec: MeterSpec, createdAt: Date): Promise<Meter> {
  const { rows } = await client.query<MeterRow>(
    `INSERT INTO meters (key, event_type, aggregation, value_property, group_by, filters, allow_negative, description, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
    [spec.key, spec.eventType, spec.aggregation, spec.valueProperty, spec.groupBy, JSON.stringify(spec.filters), spec.allowNegative, spec.description, createdAt],
  );
  return toMeter(rows[0]!);
}

export async function archiveMeter(client: Queryable, key: string, archivedAt: Date): Promise<Meter> {
  const { rows } = await client.query<MeterRow>(`UPDATE meters SET archived_at = $2 WHERE key = $1 RETURNING ${COLUMNS}`, [key, archivedAt]);
  return toMeter(rows[0]!);
}

/** Meters ordered by key (byte order), after `afterKey`. */
export async function listMeters(client: Queryable, afterKey: string, limit: number, includeArchived: boolean): Promise<Meter[]> {
  const { rows } = await client.query<MeterRow>(
    `SELECT ${COLUMNS} FROM meters
     WHERE key COLLATE "C" > $1 ${includeArchived ? "" : "AND archived_at IS NULL"}
     ORDER BY key COLLATE "C" LIMIT $2`,
    [afterKey, limit],
  );
  return rows.map(toMeter);
}
