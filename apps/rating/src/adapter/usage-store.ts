import { Decimal, toMaxScale } from "@tally/pricing";
import type { Aggregation } from "../domain/rate-plan";
import { aggregateKey, type AggregateKey, type AggregateState, type UnratedReason } from "../domain/usage-rating";
import type { Db } from "./db";

/**
 * The SQL of real-time rating. Every function runs inside the caller's transaction.
 *
 * Locking protocol (so several instances never deadlock and never double count):
 * 1. claim the event ids (rated_events, ON CONFLICT DO NOTHING RETURNING): only the ids this
 *    transaction inserted are applied; a concurrent claimant of the same id waits for our
 *    commit and then gets nothing;
 * 2. create the period heads that do not exist yet, then lock all of them with one
 *    SELECT … FOR UPDATE ordered by key: every transaction takes these locks in the same order;
 * 3. read and write segment rows and unique values of locked heads only.
 * Deadlocks are still possible in theory (e.g. against a manual transaction); the service
 * retries the whole batch on 40P01/40001.
 */

export interface HeadRef {
  subscriptionId: string;
  componentKey: string;
  dimensionValue: string;
  periodStart: Date;
}

export async function claimEvents(db: Db, eventIds: string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const sorted = [...eventIds].sort();
  const { rows } = await db.query<{ event_id: string }>(
    `INSERT INTO rated_events (event_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING event_id`,
    [sorted],
  );
  return new Set(rows.map((r) => r.event_id));
}

function headColumns(heads: HeadRef[]): unknown[] {
  return [heads.map((h) => h.subscriptionId), heads.map((h) => h.componentKey), heads.map((h) => h.dimensionValue), heads.map((h) => h.periodStart)];
}

/** Creates missing heads and locks all of them in key order; returns each head's sequence. */
export async function lockHeads(db: Db, heads: HeadRef[]): Promise<void> {
  if (heads.length === 0) return;
  const cols = headColumns(heads);
  await db.query(
    `INSERT INTO period_usage (subscription_id, component_key, dimension_value, period_start)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT DO NOTHING`,
    cols,
  );
  await db.query(
    `SELECT 1 FROM period_usage
     WHERE (subscription_id, component_key, dimension_value, period_start) IN
       (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]))
     ORDER BY subscription_id, component_key, dimension_value, period_start
     FOR UPDATE`,
    cols,
  );
}

interface RawSegment {
  subscription_id: string;
  component_key: string;
  dimension_value: string;
  period_start: Date;
  segment_start: Date;
  customer_id: string;
  plan_key: string;
  plan_version: number;
  meter_key: string;
  segment_end: Date;
  period_end: Date;
  quantity: string;
  readings: string;
  latest_time: Date | null;
  latest_event_id: string;
  amount: string;
}

const SEGMENT_COLUMNS =
  "subscription_id, component_key, dimension_value, period_start, segment_start, customer_id, plan_key, plan_version, meter_key, segment_end, period_end, quantity, readings, latest_time, latest_event_id, amount";

function toState(r: RawSegment): AggregateState {
  return {
    key: {
      subscriptionId: r.subscription_id,
      componentKey: r.component_key,
      dimensionValue: r.dimension_value,
      periodStart: r.period_start,
      segmentStart: r.segment_start,
    },
    customerId: r.customer_id,
    planKey: r.plan_key,
    planVersion: r.plan_version,
    meterKey: r.meter_key,
    segmentEnd: r.segment_end,
    periodEnd: r.period_end,
    quantity: new Decimal(r.quantity),
    readings: Number(r.readings),
    latestTime: r.latest_time,
    latestEventId: r.latest_event_id,
    amount: new Decimal(r.amount),
  };
}

/** Every segment row of the given heads, keyed by aggregateKey. */
export async function loadSegments(db: Db, heads: HeadRef[]): Promise<Map<string, AggregateState>> {
  if (heads.length === 0) return new Map();
  const { rows } = await db.query<RawSegment>(
    `SELECT ${SEGMENT_COLUMNS} FROM segment_usage
     WHERE (subscription_id, component_key, dimension_value, period_start) IN
       (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]))`,
    headColumns(heads),
  );
  return new Map(rows.map((r) => {
    const s = toState(r);
    return [aggregateKey(s.key), s];
  }));
}

/** Inserts (aggregate, value) pairs; returns `aggregateKey + "\0" + value` of those that were new. */
export async function insertUniqueValues(db: Db, pairs: { key: AggregateKey; value: string }[]): Promise<Set<string>> {
  if (pairs.length === 0) return new Set();
  const { rows } = await db.query<{ subscription_id: string; component_key: string; dimension_value: string; period_start: Date; segment_start: Date; value: string }>(
    `INSERT INTO unique_values (subscription_id, component_key, dimension_value, period_start, segment_start, value)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[])
     ON CONFLICT DO NOTHING
     RETURNING subscription_id, component_key, dimension_value, period_start, segment_start, value`,
    [
      pairs.map((p) => p.key.subscriptionId),
      pairs.map((p) => p.key.componentKey),
      pairs.map((p) => p.key.dimensionValue),
      pairs.map((p) => p.key.periodStart),
      pairs.map((p) => p.key.segmentStart),
      pairs.map((p) => p.value),
    ],
  );
  return new Set(
    rows.map(
      (r) =>
        `${aggregateKey({ subscriptionId: r.subscription_id, componentKey: r.component_key, dimensionValue: r.dimension_value, periodStart: r.period_start, segmentStart: r.segment_start })}\u0000${r.value}`,
    ),
  );
}

/** NUMERIC(38,12): running amounts are stored rounded to 12 places; reads re-price from quantities. */
function stored(d: Decimal): string {
  return toMaxScale(d).toFixed();
}

export async function saveSegments(db: Db, states: AggregateState[]): Promise<void> {
  if (states.length === 0) return;
  await db.query(
    `INSERT INTO segment_usage (${SEGMENT_COLUMNS})
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[], $8::int[],
       $9::text[], $10::timestamptz[], $11::timestamptz[], $12::numeric[], $13::bigint[], $14::timestamptz[], $15::text[], $16::numeric[])
     ON CONFLICT (subscription_id, component_key, dimension_value, period_start, segment_start) DO UPDATE SET
       quantity = EXCLUDED.quantity, readings = EXCLUDED.readings, latest_time = EXCLUDED.latest_time,
       latest_event_id = EXCLUDED.latest_event_id, amount = EXCLUDED.amount, updated_at = now()`,
    [
      states.map((s) => s.key.subscriptionId),
      states.map((s) => s.key.componentKey),
      states.map((s) => s.key.dimensionValue),
      states.map((s) => s.key.periodStart),
      states.map((s) => s.key.segmentStart),
      states.map((s) => s.customerId),
      states.map((s) => s.planKey),
      states.map((s) => s.planVersion),
      states.map((s) => s.meterKey),
      states.map((s) => s.segmentEnd),
      states.map((s) => s.periodEnd),
      states.map((s) => s.quantity.toFixed()),
      states.map((s) => s.readings),
      states.map((s) => s.latestTime),
      states.map((s) => s.latestEventId),
      states.map((s) => stored(s.amount)),
    ],
  );
}

/** Bumps each head's sequence and records its period amount; returns the new sequences by position. */
export async function advanceHeads(db: Db, heads: (HeadRef & { amount: Decimal })[]): Promise<bigint[]> {
  if (heads.length === 0) return [];
  const { rows } = await db.query<{ i: number; sequence: string }>(
    `UPDATE period_usage p SET sequence = p.sequence + 1, amount = u.amount, updated_at = now()
     FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::numeric[]) WITH ORDINALITY
       AS u(subscription_id, component_key, dimension_value, period_start, amount, i)
     WHERE (p.subscription_id, p.component_key, p.dimension_value, p.period_start) = (u.subscription_id, u.component_key, u.dimension_value, u.period_start)
     RETURNING u.i::int AS i, p.sequence`,
    [...headColumns(heads), heads.map((h) => stored(h.amount))],
  );
  const out: bigint[] = new Array(heads.length).fill(0n);
  for (const r of rows) out[r.i - 1] = BigInt(r.sequence);
  return out;
}

export interface UnratedRow {
  eventId: string;
  meterKey: string;
  customerId: string;
  eventType: string;
  eventTime: Date;
  aggregation: Aggregation;
  value: string;
  group: Record<string, string>;
  reason: UnratedReason;
  detail: string;
  receiveTime: Date;
}

export async function insertUnrated(db: Db, rows: UnratedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO unrated_events (event_id, meter_key, customer_id, event_type, event_time, aggregation, value, grp, reason, detail, receive_time)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::jsonb[], $9::text[], $10::text[], $11::timestamptz[])
     ON CONFLICT DO NOTHING`,
    [
      rows.map((r) => r.eventId),
      rows.map((r) => r.meterKey),
      rows.map((r) => r.customerId),
      rows.map((r) => r.eventType),
      rows.map((r) => r.eventTime),
      rows.map((r) => r.aggregation),
      rows.map((r) => r.value),
      rows.map((r) => JSON.stringify(r.group)),
      rows.map((r) => r.reason),
      rows.map((r) => r.detail),
      rows.map((r) => r.receiveTime),
    ],
  );
}

interface RawUnrated {
  seq: string;
  event_id: string;
  meter_key: string;
  customer_id: string;
  event_type: string;
  event_time: Date;
  aggregation: Aggregation;
  value: string;
  grp: Record<string, string>;
  reason: UnratedReason;
  detail: string;
  receive_time: Date;
}

function toUnrated(r: RawUnrated): UnratedRow & { seq: string } {
  return {
    seq: r.seq,
    eventId: r.event_id,
    meterKey: r.meter_key,
    customerId: r.customer_id,
    eventType: r.event_type,
    eventTime: r.event_time,
    aggregation: r.aggregation,
    value: r.value,
    group: r.grp,
    reason: r.reason,
    detail: r.detail,
    receiveTime: r.receive_time,
  };
}

/** Newest first; `beforeSeq` is the cursor (0 for the first page). */
export async function listUnrated(db: Db, customerId: string, beforeSeq: string, limit: number): Promise<(UnratedRow & { seq: string })[]> {
  const { rows } = await db.query<RawUnrated>(
    `SELECT * FROM unrated_events WHERE ($1 = '' OR customer_id = $1) AND ($2::bigint = 0 OR seq < $2::bigint)
     ORDER BY seq DESC LIMIT $3`,
    [customerId, beforeSeq, limit],
  );
  return rows.map(toUnrated);
}

/** Removes and returns a customer's readings kept for lack of a subscription at or after `from`. */
export async function takeUnratedWithoutSubscription(db: Db, customerId: string, from: Date): Promise<UnratedRow[]> {
  const { rows } = await db.query<RawUnrated>(
    `DELETE FROM unrated_events WHERE customer_id = $1 AND reason = 'no_subscription' AND event_time >= $2 RETURNING *`,
    [customerId, from],
  );
  return rows.map(toUnrated).sort((a, b) => Number(a.seq) - Number(b.seq));
}

/** Segment rows of one period of one subscription (for reads). */
export async function periodSegments(db: Db, subscriptionId: string, periodStart: Date): Promise<AggregateState[]> {
  const { rows } = await db.query<RawSegment>(
    `SELECT ${SEGMENT_COLUMNS} FROM segment_usage WHERE subscription_id = $1 AND period_start = $2`,
    [subscriptionId, periodStart],
  );
  return rows.map(toState);
}

/** Segment rows of many (subscription, period) pairs at once (revenue over thousands of subscriptions). */
export async function segmentsOfPeriods(db: Db, periods: readonly { subscriptionId: string; periodStart: Date }[]): Promise<AggregateState[]> {
  if (periods.length === 0) return [];
  const { rows } = await db.query<RawSegment>(
    `SELECT ${SEGMENT_COLUMNS} FROM segment_usage
     WHERE (subscription_id, period_start) IN (SELECT * FROM unnest($1::text[], $2::timestamptz[]))`,
    [periods.map((p) => p.subscriptionId), periods.map((p) => p.periodStart)],
  );
  return rows.map(toState);
}
