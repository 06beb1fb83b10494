import type { Meter } from "../domain/meter";
import type { StoredEvent } from "./event-store";
import type { Queryable } from "./queryable";

/**
 * The stored raw events a meter has counted for one customer in the given ranges of event time
 * (the partial minutes at a query's edges; each range is short, found through the BRIN index on
 * event_time). "Counted" is what decides membership of the meter's rollups: recorded while the
 * meter was active (record time from its creation to its archiving, both included: on a clock
 * tie the recording came first, since it held the catalog lock the meter change waited for), or
 * recorded earlier and taken by its backfill (event time inside the backfill window before its
 * creation). Record times are taken just before an ingest transaction reads the catalog, so an
 * event whose recording was in flight during the very meter change could be judged wrongly; the
 * rollups have no per-event trace to tell. Each event id is
 * stored once, so each event is read once. The meter's filters and value are applied by the
 * caller with readEvent, as ingest does.
 */
export async function countedEventsIn(
  db: Queryable,
  meter: Meter,
  customerId: string,
  ranges: readonly { start: Date; end: Date }[],
  backfillMs: number,
): Promise<StoredEvent[]> {
  if (ranges.length === 0) return [];
  const params: unknown[] = [customerId, meter.eventType, meter.createTime, new Date(meter.createTime.getTime() - backfillMs), meter.archiveTime ?? null];
  const inRanges = ranges.map((r) => {
    params.push(r.start, r.end);
    return `(event_time >= $${params.length - 1} AND event_time < $${params.length})`;
  });
  const { rows } = await db.query<{ event_id: string; event_time: Date; recorded_at: Date; properties: Record<string, string> }>(
    `SELECT event_id, event_time, recorded_at, properties FROM events
     WHERE customer_id = $1 AND event_type = $2 AND (${inRanges.join(" OR ")})
       AND (recorded_at >= $3 OR event_time >= $4) AND ($5::timestamptz IS NULL OR recorded_at <= $5)`,
    params,
  );
  return rows.map((r) => ({ id: r.event_id, customerId, time: r.event_time, recordTime: r.recorded_at, properties: r.properties }));
}
