import { Decimal, toWire } from "@tally/pricing";
import type { RollupDelta, UniqueValue } from "../domain/rollup";
import type { Queryable } from "./queryable";

/**
 * Whether any delta carries a LATEST reading. Only then does the upsert compare and write the
 * latest_* columns: without them (COUNT, SUM, MAX meters) Postgres evaluates four fewer CASEs
 * and casts per row, and the JSON rows are shorter.
 */
export function hasLatest(deltas: readonly RollupDelta[]): boolean {
  return deltas.some((d) => d.latest !== undefined);
}

/**
 * Rollup deltas as one JSON document, one row per delta, in their (sorted) order; the latest_*
 * fields only if `withLatest` ({@link hasLatest}). Consecutive deltas mostly share their bucket
 * (events without a time all get the receive time), so a bucket is formatted once per run of
 * them rather than once per delta.
 */
export function rollupRows(deltas: readonly RollupDelta[], withLatest = hasLatest(deltas)): string {
  let lastBucketMs = NaN;
  let lastIso = "";
  const rows: unknown[] = new Array(deltas.length);
  for (let i = 0; i < deltas.length; i++) {
    const d = deltas[i]!;
    const bucketMs = d.bucketStart.getTime();
    if (bucketMs !== lastBucketMs) {
      lastBucketMs = bucketMs;
      lastIso = d.bucketStart.toISOString();
    }
    const sum = d.valueSum ? toWire(d.valueSum) : null;
    const max = d.valueMax ? toWire(d.valueMax) : null;
    rows[i] = withLatest
      ? [
          d.meterKey,
          d.customerId,
          lastIso,
          d.groupKey,
          d.eventCount,
          sum,
          max,
          d.latest ? d.latest.time.toISOString() : null,
          d.latest ? d.latest.recordTime.toISOString() : null,
          d.latest ? d.latest.eventId : null,
          d.latest ? toWire(d.latest.value) : null,
        ]
      : [d.meterKey, d.customerId, lastIso, d.groupKey, d.eventCount, sum, max];
  }
  return JSON.stringify(rows);
}

export function uniqueValueRows(values: readonly UniqueValue[]): string {
  return JSON.stringify(values.map((v) => [v.meterKey, v.customerId, v.bucketStart.toISOString(), v.groupKey, v.value]));
}

// (event time, record time, event id) of the new reading beats the stored one; ids compare
// byte-wise (the column is COLLATE "C"), exactly like compareCodePoints in TypeScript.
const LATER = `(excluded.latest_time, excluded.latest_recorded_at, excluded.latest_event_id) > (r.latest_time, r.latest_recorded_at, r.latest_event_id)`;

/**
 * Adds the deltas in `rows` (a jsonb parameter of {@link rollupRows}) to the rollups, where
 * `condition` holds. Shared by {@link upsertRollups} and the ingest statement in event-store.ts.
 * `withLatest` must match the rows' shape ({@link hasLatest}).
 */
export function upsertRollupsSql(rows: string, condition = "true", withLatest = true): string {
  if (!withLatest)
    return `INSERT INTO usage_rollup AS r (meter_key, customer_id, bucket_start, group_hash, group_key, event_count, value_sum, value_max)
           SELECT e->>0, e->>1, (e->>2)::timestamptz, sha256(convert_to(e->>3, 'UTF8')), (e->>3)::jsonb, (e->>4)::bigint,
                  (e->>5)::numeric, (e->>6)::numeric
           FROM jsonb_array_elements(${rows}::jsonb) AS e
           WHERE ${condition}
           ON CONFLICT (meter_key, customer_id, bucket_start, group_hash) DO UPDATE SET
             event_count = r.event_count + excluded.event_count,
             value_sum = r.value_sum + excluded.value_sum,
             value_max = greatest(r.value_max, excluded.value_max)`;
  return `INSERT INTO usage_rollup AS r (meter_key, customer_id, bucket_start, group_hash, group_key, event_count, value_sum, value_max,
             latest_time, latest_recorded_at, latest_event_id, latest_value)
           SELECT e->>0, e->>1, (e->>2)::timestamptz, sha256(convert_to(e->>3, 'UTF8')), (e->>3)::jsonb, (e->>4)::bigint,
                  (e->>5)::numeric, (e->>6)::numeric, (e->>7)::timestamptz, (e->>8)::timestamptz, e->>9, (e->>10)::numeric
           FROM jsonb_array_elements(${rows}::jsonb) AS e
           WHERE ${condition}
           ON CONFLICT (meter_key, customer_id, bucket_start, group_hash) DO UPDATE SET
             event_count = r.event_count + excluded.event_count,
             value_sum = r.value_sum + excluded.value_sum,
             value_max = greatest(r.value_max, excluded.value_max),
             latest_time = CASE WHEN ${LATER} THEN excluded.latest_time ELSE r.latest_time END,
             latest_recorded_at = CASE WHEN ${LATER} THEN excluded.latest_recorded_at ELSE r.latest_recorded_at END,
             latest_value = CASE WHEN ${LATER} THEN excluded.latest_value ELSE r.latest_value END,
             latest_event_id = CASE WHEN ${LATER} THEN excluded.latest_event_id ELSE r.latest_event_id END`;
}

/** Same for UNIQUE_COUNT values (rows of {@link uniqueValueRows}). */
export function insertUniqueValuesSql(rows: string, condition = "true"): string {
  return `INSERT INTO usage_unique_values (meter_key, customer_id, bucket_start, group_hash, value_hash, group_key, value)
           SELECT e->>0, e->>1, (e->>2)::timestamptz, sha256(convert_to(e->>3, 'UTF8')), sha256(convert_to(e->>4, 'UTF8')), (e->>3)::jsonb, e->>4
           FROM jsonb_array_elements(${rows}::jsonb) AS e
           WHERE ${condition}
           ON CONFLICT DO NOTHING`;
}

/**
 * Adds deltas to the rollups in one statement. Rows arrive sorted (RollupAccumulator), so two
 * transactions updating overlapping rows lock them in the same order and cannot deadlock.
 */
export async function upsertRollups(client: Queryable, deltas: readonly RollupDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const withLatest = hasLatest(deltas);
  await client.query({
    name: withLatest ? "metering_upsert_rollups" : "metering_upsert_rollups_lean",
    text: upsertRollupsSql("$1", "true", withLatest),
    values: [rollupRows(deltas, withLatest)],
  });
}

export async function insertUniqueValues(client: Queryable, values: readonly UniqueValue[]): Promise<void> {
  if (values.length === 0) return;
  await client.query({ name: "metering_insert_unique_values", text: insertUniqueValuesSql("$1"), values: [uniqueValueRows(values)] });
}

/** Statement text storing one transaction's pending rollups ($rows, $values: rollupRows, uniqueValueRows), where `condition` holds. */
export function insertPendingRollupsSql(rows: string, values: string, condition = "true"): string {
  return `INSERT INTO rollup_pending (rollups, unique_values) SELECT ${rows}::text, ${values}::text WHERE ${condition} RETURNING id::text AS id`;
}

/**
 * Stores rollups to be folded later (see migration 003) and returns the pending row's id, or
 * undefined when there is nothing to fold.
 */
export async function insertPendingRollups(client: Queryable, deltas: readonly RollupDelta[], values: readonly UniqueValue[]): Promise<string | undefined> {
  if (deltas.length === 0 && values.length === 0) return undefined;
  const { rows } = await client.query<{ id: string }>({
    name: "metering_insert_pending_rollups",
    text: insertPendingRollupsSql("$1", "$2"),
    values: [rollupRows(deltas), uniqueValueRows(values)],
  });
  return rows[0]!.id;
}

export async function anyPendingRollups(client: Queryable): Promise<boolean> {
  const { rows } = await client.query<{ any: boolean }>({ name: "metering_any_pending_rollups", text: `SELECT EXISTS (SELECT 1 FROM rollup_pending) AS any` });
  return rows[0]!.any;
}

/** Ids of the committed pending rows. */
export async function pendingRollupIds(client: Queryable): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>({ name: "metering_pending_rollup_ids", text: `SELECT id::text AS id FROM rollup_pending` });
  return rows.map((r) => r.id);
}

/** Pending rows taken by a fold: those `known` (held in memory) come back without their content. */
export interface TakenPending {
  id: string;
  rollups: RollupDelta[] | undefined;
  uniqueValues: UniqueValue[] | undefined;
}

/**
 * Deletes every committed pending row and returns them, to be added to the rollups in the same
 * transaction. The content of the rows in `known` is not sent back: the caller holds it.
 */
export async function takePendingRollups(client: Queryable, known: readonly string[]): Promise<TakenPending[]> {
  const { rows } = await client.query<{ id: string; rollups: string | null; unique_values: string | null }>({
    name: "metering_take_pending_rollups",
    text: `DELETE FROM rollup_pending
           RETURNING id::text AS id,
                     CASE WHEN id = ANY($1::bigint[]) THEN NULL ELSE rollups END AS rollups,
                     CASE WHEN id = ANY($1::bigint[]) THEN NULL ELSE unique_values END AS unique_values`,
    values: [known],
  });
  return rows.map((r) => ({
    id: r.id,
    rollups: r.rollups === null ? undefined : parseRollupRows(r.rollups),
    uniqueValues: r.unique_values === null ? undefined : parseUniqueValueRows(r.unique_values),
  }));
}

type RollupRow = [string, string, string, string, number, string | null, string | null, string?, string?, string?, string?];

/** Reads back what {@link rollupRows} wrote (with or without the latest_* fields). */
export function parseRollupRows(json: string): RollupDelta[] {
  return (JSON.parse(json) as RollupRow[]).map(([meterKey, customerId, bucket, groupKey, eventCount, sum, max, latestTime, latestRecorded, latestId, latestValue]) => ({
    meterKey,
    customerId,
    bucketStart: new Date(bucket),
    groupKey,
    eventCount,
    valueSum: sum === null ? undefined : new Decimal(sum),
    valueMax: max === null ? undefined : new Decimal(max),
    latest:
      latestTime === undefined || latestTime === null
        ? undefined
        : { time: new Date(latestTime), recordTime: new Date(latestRecorded!), eventId: latestId!, value: new Decimal(latestValue!) },
  }));
}

/** Reads back what {@link uniqueValueRows} wrote. */
export function parseUniqueValueRows(json: string): UniqueValue[] {
  return (JSON.parse(json) as [string, string, string, string, string][]).map(([meterKey, customerId, bucket, groupKey, value]) => ({
    meterKey,
    customerId,
    bucketStart: new Date(bucket),
    groupKey,
    value,
  }));
}
