import type { PoolClient } from "pg";
import type { EventContent } from "../domain/event-content";
import type { RollupDelta, UniqueValue } from "../domain/rollup";
import type { ValidEvent } from "../domain/usage-event";
import type { Queryable } from "./queryable";
import { insertPendingRollupsSql, rollupRows, uniqueValueRows } from "./rollup-store";

/** The rollups of the events being inserted, computed as if all of them will be. */
export interface OptimisticRollups {
  rollups: readonly RollupDelta[];
  uniqueValues: readonly UniqueValue[];
}

/**
 * Inserting an id another transaction inserted concurrently: the PK made the fast insert wait
 * for that transaction, which committed. This transaction is aborted; retry it with
 * `waitForRacingIds` (see {@link insertEvents}).
 */
export class RacingInsertError extends Error {
  constructor(cause: unknown) {
    super("an event id was inserted concurrently by another transaction", { cause });
  }
}

export interface InsertedEvents {
  inserted: number;
  /** The pending rollups row written with them (only if every event was inserted and there were rollups). */
  pendingId: string | undefined;
}

export interface InsertOptions {
  /** Skip, instead of failing on, ids that concurrent transactions are inserting (slower). */
  waitForRacingIds: boolean;
}

/**
 * Inserts events in one statement, skipping ids already taken, and returns how many it inserted.
 * An id is never lost and never taken twice: the primary key decides.
 *
 * By default the statement skips ids committed before it started (a lookup per id) and plainly
 * inserts the rest. If a concurrent transaction inserts one of the same ids, the primary key
 * makes this one wait for it; should it commit, the insert fails with {@link RacingInsertError}
 * (should it roll back, the id is inserted here). The caller then retries with
 * `waitForRacingIds`, which uses ON CONFLICT DO NOTHING: the racing id is skipped and looked up
 * as a duplicate or conflict. Why not always ON CONFLICT: its speculative insertion costs
 * Postgres ≈ 1.2 µs more per event (≈ 20 % of the insert, measured with 10,000-event batches),
 * to cover a race — the same id in two transactions at once — that retries rarely produce.
 *
 * Only the count (and the pending rollups' id) comes back: when it equals the number of events (the usual case) every one was
 * inserted, and returning thousands of ids would cost more than the insert's index upkeep.
 * Otherwise {@link findEvents} tells which ones this transaction inserted.
 *
 * `optimistic` rollups are stored as pending (migration 003) by the same statement, one round
 * trip less per transaction, but only if every event was inserted; otherwise they are skipped
 * and the caller stores the rollups of the events actually accepted.
 */
export async function insertEvents(
  client: Queryable,
  events: readonly ValidEvent[],
  recordTime: Date,
  optimistic: OptimisticRollups,
  { waitForRacingIds }: InsertOptions,
): Promise<InsertedEvents> {
  // One JSON document per batch, one row per event: JSON.stringify is a single native call,
  // where pg would escape every element of seven text arrays in JavaScript. Postgres unpacks it.
  // jsonb_array_elements keeps the array order, i.e. the sorted order of the ids.
  const rows: unknown[] = new Array(events.length);
  // Events without a time share their receive-time Date: format each distinct Date once.
  let lastTime: Date | undefined;
  let lastIso = "";
  events.forEach((e, i) => {
    if (e.time !== lastTime) {
      lastTime = e.time;
      lastIso = e.time.toISOString();
    }
    rows[i] = [e.id, e.customerId, e.eventType, lastIso, e.timeGiven, e.properties];
  });
  const allInserted = `(SELECT inserted FROM counted) = $5`;
  const skipTaken = waitForRacingIds
    ? `ON CONFLICT (event_id) DO NOTHING`
    : // A correlated scalar subquery is always an index probe per row. NOT EXISTS would let the
      // planner pick a hash anti-join over a sequential scan while the table is small, and the
      // prepared statement keeps that plan as the table grows (unary ingest fell to half speed).
      `WHERE (SELECT true FROM events taken WHERE taken.event_id = e->>0) IS NULL`;
  const hasRollups = optimistic.rollups.length > 0 || optimistic.uniqueValues.length > 0;
  try {
    const { rows: result } = await client.query<{ inserted: number; pending_id: string | null }>({
      name: `metering_insert_events${waitForRacingIds ? "_waiting" : ""}`,
      text: `WITH new_events AS (
               INSERT INTO events (event_id, customer_id, event_type, event_time, time_given, properties, recorded_at)
               SELECT e->>0, e->>1, e->>2, (e->>3)::timestamptz, (e->>4)::boolean, e->5, $2
               FROM jsonb_array_elements($1::jsonb) AS e
               ${skipTaken}
               RETURNING 1),
             counted AS (SELECT count(*)::int AS inserted FROM new_events),
             pending AS (${insertPendingRollupsSql("$4", "$3", `${allInserted} AND $6::boolean`)})
             SELECT inserted, (SELECT id FROM pending) AS pending_id FROM counted`,
      values: [
        JSON.stringify(rows),
        recordTime.toISOString(),
        uniqueValueRows(optimistic.uniqueValues),
        rollupRows(optimistic.rollups),
        events.length,
        hasRollups,
      ],
    });
    const row = result[0];
    return { inserted: row?.inserted ?? 0, pendingId: row?.pending_id ?? undefined };
  } catch (err) {
    const { code, constraint } = err as { code?: string; constraint?: string };
    if (!waitForRacingIds && code === "23505" && constraint === "events_pkey") throw new RacingInsertError(err); // unique_violation
    throw err;
  }
}

export interface FoundEvents {
  /** Ids this transaction inserted. */
  mine: Set<string>;
  /** Content of the others, as committed by whoever holds them (absent ids are missing). */
  stored: Map<string, EventContent>;
}

/** Looks events up by id inside the current transaction (its own rows have its xid as xmin). */
export async function findEvents(client: Queryable, ids: readonly string[]): Promise<FoundEvents> {
  const { rows } = await client.query<{
    event_id: string;
    mine: boolean;
    customer_id: string;
    event_type: string;
    properties: Record<string, string>;
    event_time: Date;
    time_given: boolean;
  }>({
    name: "metering_find_events",
    text: `SELECT event_id, xmin = pg_current_xact_id()::xid AS mine, customer_id, event_type, properties, event_time, time_given
           FROM events WHERE event_id = ANY($1::text[])`,
    values: [ids],
  });
  const found: FoundEvents = { mine: new Set(), stored: new Map() };
  for (const r of rows) {
    if (r.mine) found.mine.add(r.event_id);
    else found.stored.set(r.event_id, { customerId: r.customer_id, eventType: r.event_type, properties: r.properties, time: r.event_time, timeGiven: r.time_given });
  }
  return found;
}

export interface StoredEvent {
  id: string;
  customerId: string;
  time: Date;
  recordTime: Date;
  properties: Record<string, string>;
}

/**
 * Streams the stored events of one type with an event time at or after `since`, in pages, for
 * a new meter's backfill. Uses a cursor inside the caller's transaction, so it reads one
 * consistent snapshot however many pages there are.
 */
export async function scanEventsOfType(
  client: PoolClient,
  eventType: string,
  since: Date,
  pageSize: number,
  onPage: (events: StoredEvent[]) => Promise<void> | void,
): Promise<void> {
  await client.query(
    `DECLARE metering_backfill NO SCROLL CURSOR FOR
       SELECT event_id, customer_id, event_time, recorded_at, properties FROM events
       WHERE event_type = $1 AND event_time >= $2`,
    [eventType, since],
  );
  try {
    for (;;) {
      const { rows } = await client.query<{ event_id: string; customer_id: string; event_time: Date; recorded_at: Date; properties: Record<string, string> }>(
        `FETCH ${Math.floor(pageSize)} FROM metering_backfill`,
      );
      if (rows.length === 0) break;
      await onPage(rows.map((r) => ({ id: r.event_id, customerId: r.customer_id, time: r.event_time, recordTime: r.recorded_at, properties: r.properties })));
    }
  } finally {
    await client.query(`CLOSE metering_backfill`);
  }
}
