import type { MeterSpec } from "../domain/meter";
import type { RollupDelta, UniqueValue } from "../domain/rollup";
import type { RangeSplit, UsageQuery } from "../domain/usage-query";
import type { Queryable } from "./queryable";
import { rollupRows, uniqueValueRows } from "./rollup-store";

export interface UsageRowResult {
  windowStart: Date;
  windowEnd: Date;
  /** The query's group_by properties with this row's values. */
  group: Record<string, string>;
  /** Aggregated value as Postgres prints it (not yet canonical). */
  value: string;
}

/** Rollup rows computed from the raw events of a query's partial edge minutes. */
export interface EdgeRollups {
  rollups: readonly RollupDelta[];
  uniqueValues: readonly UniqueValue[];
}

/**
 * Aggregates a meter's usage for one customer over [from, to): the stored rollups of the whole
 * minutes inside (`split.wholeMinutes`; buckets are one minute of event time) together with
 * `edges`, the rollup rows of the partial minutes computed from raw events, which go through the
 * same re-aggregation as stored rows. So the answer is exact at any millisecond edge. Windows:
 * NONE is the whole range; HOUR is whole UTC hours; DAY is the local calendar day in the query's
 * zone (date_trunc with a zone handles 23- and 25-hour days; the day's end is the next local
 * midnight, found as the truncation of start + 26 h). Each aggregation re-aggregates its own
 * way: COUNT/SUM add, MAX takes the max, LATEST the value at the greatest (time, record time,
 * id), UNIQUE_COUNT counts distinct values over the whole window.
 */
export async function queryUsage(db: Queryable, query: UsageQuery, meter: MeterSpec, split: RangeSplit, edges: EdgeRollups): Promise<UsageRowResult[]> {
  const params: unknown[] = [meter.key, query.customerId, query.from, query.to, split.wholeMinutes.start, split.wholeMinutes.end];
  let window: string;
  let windowEnd: string;
  switch (query.windowSize) {
    case "none":
      window = `$3::timestamptz`;
      windowEnd = `$4::timestamptz`;
      break;
    case "hour":
      window = `date_trunc('hour', bucket_start, 'UTC')`;
      windowEnd = `w + interval '1 hour'`;
      break;
    case "day":
      params.push(query.timeZone);
      window = `date_trunc('day', bucket_start, $${params.length})`;
      windowEnd = `date_trunc('day', w + interval '26 hours', $${params.length})`;
      break;
  }
  // Group values come from the rollup's group_key, a JSON array in the meter's group_by order.
  const groups = query.groupBy.map((property, i) => ({ property, column: `g${i}`, index: meter.groupBy.indexOf(property) }));
  const groupSelect = groups.map((g) => `, group_key ->> ${g.index} AS ${g.column}`).join("");
  const groupBy = ["w", ...groups.map((g) => g.column)].join(", ");
  const orderBy = ["w", ...groups.map((g) => `${g.column} COLLATE "C"`)].join(", ");

  // Stored rows of the whole minutes, then the edge rows (a JSON parameter in the shape the
  // ingest upsert reads, see rollup-store.ts), as one source.
  const stored = `meter_key = $1 AND customer_id = $2 AND bucket_start >= $5 AND bucket_start < $6`;
  let source = `(SELECT bucket_start, group_key, event_count, value_sum, value_max, latest_time, latest_recorded_at, latest_event_id, latest_value
                 FROM usage_rollup WHERE ${stored}
                 UNION ALL
                 SELECT (e->>2)::timestamptz, (e->>3)::jsonb, (e->>4)::bigint, (e->>5)::numeric, (e->>6)::numeric, (e->>7)::timestamptz,
                        (e->>8)::timestamptz, (e->>9) COLLATE "C", (e->>10)::numeric
                 FROM jsonb_array_elements($${params.length + 1}::jsonb) AS e) src`;
  let edgeRows = rollupRows(edges.rollups);
  let aggregate: string;
  switch (meter.aggregation) {
    case "count":
      aggregate = `sum(event_count)`;
      break;
    case "sum":
      aggregate = `sum(value_sum)`;
      break;
    case "max":
      aggregate = `max(value_max)`;
      break;
    case "latest":
      aggregate = `(array_agg(latest_value ORDER BY latest_time DESC, latest_recorded_at DESC, latest_event_id DESC))[1]`;
      break;
    case "unique_count":
      source = `(SELECT bucket_start, group_key, value_hash FROM usage_unique_values WHERE ${stored}
                 UNION ALL
                 SELECT (e->>2)::timestamptz, (e->>3)::jsonb, sha256(convert_to(e->>4, 'UTF8'))
                 FROM jsonb_array_elements($${params.length + 1}::jsonb) AS e) src`;
      edgeRows = uniqueValueRows(edges.uniqueValues);
      aggregate = `count(DISTINCT value_hash)`;
      break;
  }
  params.push(edgeRows);
  const { rows } = await db.query<Record<string, unknown> & { window_start: Date; window_end: Date; value: string }>(
    `SELECT greatest(w, $3::timestamptz) AS window_start, least(${windowEnd}, $4::timestamptz) AS window_end, value${groups.map((g) => `, ${g.column}`).join("")}
     FROM (
       SELECT ${window} AS w${groupSelect}, (${aggregate})::text AS value
       FROM ${source}
       GROUP BY ${groupBy}
     ) t
     ORDER BY ${orderBy}`,
    params,
  );
  return rows.map((row) => ({
    windowStart: row.window_start,
    windowEnd: row.window_end,
    group: Object.fromEntries(groups.map((g) => [g.property, String(row[g.column] ?? "")])),
    value: row.value,
  }));
}
