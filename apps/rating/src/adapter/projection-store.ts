import { Decimal, toMaxScale } from "@tally/pricing";
import type { Range } from "../domain/forecast";
import type { Db } from "./db";

/** A (subscription, period) whose invoice is projected. */
export interface BillingRef {
  subscriptionId: string;
  periodStart: Date;
}

export interface StoredProjection extends BillingRef {
  periodEnd: Date;
  /** The inputs version the projection was computed from (see {@link INPUTS}). */
  inputs: string;
  asOf: Date;
  freshUntil: Date;
  amountToDate: Decimal;
  amount: Range;
}

/**
 * What a billing's projection rests on, as one md5, computed in SQL over `b.sub`/`b.start`: the
 * subscription's terms (plan segments, phases, zone, anchor, start, cancel — not its revision,
 * which also moves when a period start is merely announced) and every segment_usage row of the period
 * (segment, plan, component, value, quantity). New usage changes a quantity, so the version.
 * Epoch numbers, not timestamptz text: the text depends on the session's time zone.
 */
const INPUTS = `md5(s.segments::text || s.phases::text || s.time_zone || s.anchor || extract(epoch FROM s.start_time)::text || '/' || coalesce(extract(epoch FROM s.cancel_time)::text, '') || '|' || coalesce((
    SELECT string_agg(extract(epoch FROM u.segment_start)::text || '/' || u.plan_key || '@' || u.plan_version || '/' || u.component_key || chr(31) || u.dimension_value || '=' || u.quantity::text,
                      ',' ORDER BY u.segment_start, u.component_key, u.dimension_value)
    FROM segment_usage u WHERE u.subscription_id = b.sub AND u.period_start = b.start), ''))`;

const BILLINGS = "SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS x(sub, start)";

/** The current inputs version of each billing (keyed by {@link billingKey}); none for a missing subscription. */
export async function inputVersions(db: Db, billings: readonly BillingRef[]): Promise<Map<string, string>> {
  if (billings.length === 0) return new Map();
  const { rows } = await db.query<{ sub: string; start: Date; inputs: string }>(
    `SELECT b.sub, b.start, ${INPUTS} AS inputs FROM (${BILLINGS}) b JOIN subscriptions s ON s.id = b.sub`,
    [billings.map((b) => b.subscriptionId), billings.map((b) => b.periodStart)],
  );
  return new Map(rows.map((r) => [billingKey(r.sub, r.start), r.inputs]));
}

export interface StoredSums {
  /** Rows summed (their inputs still match): the count, and the amounts. */
  summed: number;
  amountToDate: Decimal;
  amount: Range;
  /** Of the rows summed, those projected before the day `now` is in: only time moved on since. */
  dated: number;
  /** The oldest `as_of` among the rows summed (none summed: undefined). */
  oldestAsOf: Date | undefined;
  /** The billings whose inputs changed (usage, plan, cancel) or that have no row: not summed. */
  changed: BillingRef[];
  /** Every billing whose row needs replacing: `changed`, and the dated ones (what the refresher projects). */
  stale: BillingRef[];
}

/**
 * One query: the sums of the stored projections of these billings that were made from their
 * current inputs, and which of them are not. A row is *fresh* when, in addition, it was projected
 * on the day `now` is in (`fresh_until > now`); a *dated* one (a day boundary passed since) is
 * still summed here: it is the projection as of its `as_of`, and the caller says so.
 */
export async function sumStoredProjections(db: Db, billings: readonly BillingRef[], now: Date): Promise<StoredSums> {
  const out: StoredSums = { summed: 0, amountToDate: ZERO, amount: { p10: ZERO, p50: ZERO, p90: ZERO }, dated: 0, oldestAsOf: undefined, changed: [], stale: [] };
  if (billings.length === 0) return out;
  const { rows } = await db.query<{
    sub: string | null;
    start: Date | null;
    matches: boolean;
    n: string;
    dated: string;
    oldest: Date | null;
    to_date: string | null;
    p10: string | null;
    p50: string | null;
    p90: string | null;
  }>(
    `WITH j AS (
       SELECT b.sub, b.start, p.amount_to_date, p.p10, p.p50, p.p90, p.as_of,
              coalesce(p.inputs = ${INPUTS}, false) AS matches, coalesce(p.fresh_until > $3, false) AS today
       FROM (${BILLINGS}) b JOIN subscriptions s ON s.id = b.sub
       -- LATERAL: one primary-key probe per billing whatever the planner believes of a table just filled.
       LEFT JOIN LATERAL (SELECT * FROM billing_projection p WHERE p.subscription_id = b.sub AND p.period_start = b.start) p ON true)
     SELECT NULL::text AS sub, NULL::timestamptz AS start, true AS matches, count(*)::text AS n, count(*) FILTER (WHERE NOT today)::text AS dated,
            min(as_of) AS oldest, sum(amount_to_date)::text AS to_date, sum(p10)::text AS p10, sum(p50)::text AS p50, sum(p90)::text AS p90
     FROM j WHERE matches
     UNION ALL
     SELECT sub, start, matches, '0', '0', NULL, NULL, NULL, NULL, NULL FROM j WHERE NOT (matches AND today)`,
    [billings.map((b) => b.subscriptionId), billings.map((b) => b.periodStart), now],
  );
  for (const r of rows) {
    if (r.sub === null) {
      out.summed = Number(r.n);
      out.dated = Number(r.dated);
      if (out.summed > 0) {
        out.oldestAsOf = r.oldest!;
        out.amountToDate = new Decimal(r.to_date!);
        out.amount = { p10: new Decimal(r.p10!), p50: new Decimal(r.p50!), p90: new Decimal(r.p90!) };
      }
    } else {
      const ref = { subscriptionId: r.sub, periodStart: r.start! };
      out.stale.push(ref);
      if (!r.matches) out.changed.push(ref);
    }
  }
  return out;
}

/** Stored projections whose period has not ended by `now` and that are stale (see {@link sumStoredProjections}). */
export async function staleStoredBillings(db: Db, now: Date, customerIds?: readonly string[]): Promise<BillingRef[]> {
  const { rows } = await db.query<{ sub: string; start: Date }>(
    `SELECT b.sub, b.start FROM (SELECT subscription_id AS sub, period_start AS start, inputs, fresh_until FROM billing_projection WHERE period_end > $1) b
     JOIN subscriptions s ON s.id = b.sub
     WHERE ($2::text[] IS NULL OR s.customer_id = ANY($2::text[])) AND NOT (b.fresh_until > $1 AND b.inputs = ${INPUTS})`,
    [now, customerIds ?? null],
  );
  return rows.map((r) => ({ subscriptionId: r.sub, periodStart: r.start }));
}

/** Inserts or replaces projections; amounts at the storage scale (the caller rounds them so). */
export async function saveProjections(db: Db, rows: readonly StoredProjection[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <T>(f: (r: StoredProjection) => T) => rows.map(f);
  await db.query(
    `INSERT INTO billing_projection (subscription_id, period_start, period_end, inputs, as_of, fresh_until, amount_to_date, p10, p50, p90)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[])
     ON CONFLICT (subscription_id, period_start) DO UPDATE SET
       period_end = EXCLUDED.period_end, inputs = EXCLUDED.inputs, as_of = EXCLUDED.as_of, fresh_until = EXCLUDED.fresh_until,
       amount_to_date = EXCLUDED.amount_to_date, p10 = EXCLUDED.p10, p50 = EXCLUDED.p50, p90 = EXCLUDED.p90`,
    [
      col((r) => r.subscriptionId),
      col((r) => r.periodStart),
      col((r) => r.periodEnd),
      col((r) => r.inputs),
      col((r) => r.asOf),
      col((r) => r.freshUntil),
      col((r) => toMaxScale(r.amountToDate).toFixed()),
      col((r) => toMaxScale(r.amount.p10).toFixed()),
      col((r) => toMaxScale(r.amount.p50).toFixed()),
      col((r) => toMaxScale(r.amount.p90).toFixed()),
    ],
  );
}

export function billingKey(subscriptionId: string, periodStart: Date): string {
  return `${subscriptionId}\u0000${periodStart.getTime()}`;
}

const ZERO = new Decimal(0);
