import { Decimal, toMaxScale } from "@tally/pricing";
import type { DailyUsage } from "../domain/daily-usage";
import type { Db } from "./db";

/**
 * Adds a batch's daily increments, inside the rating transaction. Idempotent because that
 * transaction applies only event ids it has just claimed; rows are written in key order, and the
 * period heads they belong to are already locked, so concurrent batches never deadlock here.
 */
export async function addDailyUsage(db: Db, rows: DailyUsage[]): Promise<void> {
  if (rows.length === 0) return;
  const sorted = [...rows].sort(compareRows);
  await db.query(
    `INSERT INTO daily_usage AS d (subscription_id, component_key, dimension_value, day_start, quantity)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::numeric[])
     ON CONFLICT (subscription_id, component_key, dimension_value, day_start) DO UPDATE SET quantity = d.quantity + EXCLUDED.quantity`,
    [
      sorted.map((r) => r.subscriptionId),
      sorted.map((r) => r.componentKey),
      sorted.map((r) => r.dimensionValue),
      sorted.map((r) => r.dayStart),
      sorted.map((r) => toMaxScale(r.quantity).toFixed()),
    ],
  );
}

function compareRows(a: DailyUsage, b: DailyUsage): number {
  return (
    cmp(a.subscriptionId, b.subscriptionId) || cmp(a.componentKey, b.componentKey) || cmp(a.dimensionValue, b.dimensionValue) || a.dayStart.getTime() - b.dayStart.getTime()
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Daily usage of these subscriptions from `from` on, one entry per (subscription, component,
 * dimension value) with its days ascending — aggregated in SQL so ten thousand subscriptions
 * come back as ten thousand rows, not a million. Plain numbers: the series only feeds the
 * estimation; exact quantities to date come from the rated aggregates.
 */
export async function dailyUsageSince(db: Db, subscriptionIds: readonly string[], from: Date): Promise<DailySeries[]> {
  if (subscriptionIds.length === 0) return [];
  const { rows } = await db.query<{ subscription_id: string; component_key: string; dimension_value: string; days: number[]; quantities: number[] }>(
    `SELECT subscription_id, component_key, dimension_value,
            array_agg(extract(epoch from day_start) * 1000 ORDER BY day_start)::float8[] AS days,
            array_agg(quantity ORDER BY day_start)::float8[] AS quantities
     FROM daily_usage WHERE subscription_id = ANY($1::text[]) AND day_start >= $2
     GROUP BY subscription_id, component_key, dimension_value`,
    [subscriptionIds, from],
  );
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    componentKey: r.component_key,
    dimensionValue: r.dimension_value,
    days: r.days,
    quantities: r.quantities,
  }));
}

export interface DailySeries {
  subscriptionId: string;
  componentKey: string;
  dimensionValue: string;
  /** Day starts (epoch milliseconds), ascending. */
  days: number[];
  quantities: number[];
}

/**
 * The plan cohort's daily rates for one component: each subscription on `planKey` with usage in
 * [from, to), its quantity there ÷ the days, by subscription id. The first `limit` + 1 by id (a
 * prior needs a sample, not a census; the one extra lets the caller leave the asking subscription
 * out and still have `limit`): the same sample whoever asks first, so a projection does not
 * depend on which others were projected in the same call.
 */
export async function cohortDailyRates(
  db: Db,
  cohort: { planKey: string; componentKey: string; dimensionValue: string; from: Date; to: Date },
  limit = 500,
): Promise<{ subscriptionId: string; rate: Decimal }[]> {
  const days = (cohort.to.getTime() - cohort.from.getTime()) / 86_400_000;
  if (days <= 0) return [];
  const { rows } = await db.query<{ subscription_id: string; total: string }>(
    `SELECT d.subscription_id, sum(d.quantity)::text AS total FROM daily_usage d
     WHERE d.component_key = $2 AND d.dimension_value = $3 AND d.day_start >= $4 AND d.day_start < $5
       AND d.subscription_id IN (SELECT subscription_id FROM segment_usage WHERE plan_key = $1 AND period_end > $4)
     GROUP BY d.subscription_id ORDER BY d.subscription_id LIMIT $6`,
    [cohort.planKey, cohort.componentKey, cohort.dimensionValue, cohort.from, cohort.to, limit + 1],
  );
  return rows.map((r) => ({ subscriptionId: r.subscription_id, rate: new Decimal(r.total).div(days) }));
}
