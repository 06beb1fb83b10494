import type { PlanSegment } from "../domain/build-invoice";
import type { Db } from "./db";

/** What invoicing keeps of a rating subscription: enough to know which periods to close. */
export interface SubscriptionRecord {
  subscriptionId: string;
  customerId: string;
  timeZone: string;
  startTime: Date;
  cancelTime: Date | null;
  revision: number;
  segments: PlanSegment[];
}

/**
 * Upserts from a SubscriptionChanged snapshot, keeping the highest revision. A new subscription's
 * first period to close starts at its start (its end is learned when rating first prices it).
 * A snapshot lists only its current period's segments: the earlier ones are kept, or a period
 * closed after rating has moved on (the usual case at period end) would have no plan.
 */
export async function upsertSubscription(db: Db, s: SubscriptionRecord): Promise<void> {
  await db.query(
    `INSERT INTO subscriptions (subscription_id, customer_id, time_zone, start_time, cancel_time, revision, segments, next_period_at, next_close_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $4, $4)
     ON CONFLICT (subscription_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, cancel_time = EXCLUDED.cancel_time, revision = EXCLUDED.revision,
       segments = COALESCE(
         (SELECT jsonb_agg(old ORDER BY (old->>'start')::timestamptz) FROM jsonb_array_elements(subscriptions.segments) old
          WHERE (old->>'start')::timestamptz < COALESCE((EXCLUDED.segments->0->>'start')::timestamptz, 'infinity')),
         '[]'::jsonb) || EXCLUDED.segments
     WHERE subscriptions.revision < EXCLUDED.revision`,
    [s.subscriptionId, s.customerId, s.timeZone, s.startTime, s.cancelTime, s.revision, JSON.stringify(s.segments)],
  );
}

export interface DueSubscription {
  subscriptionId: string;
  customerId: string;
  nextPeriodAt: Date;
  cancelTime: Date | null;
  segments: PlanSegment[];
}

const planSegments = (json: { planKey: string; planVersion: number; start: string }[]): PlanSegment[] =>
  json.map((s) => ({ planKey: s.planKey, planVersion: s.planVersion, start: new Date(s.start) }));

/**
 * Subscriptions whose next unclosed period may have ended by `now`, locked so that concurrent
 * closers (another instance, RunBillingCycle) each take different ones.
 */
export async function claimDue(db: Db, now: Date, limit: number): Promise<DueSubscription[]> {
  const { rows } = await db.query<{
    subscription_id: string;
    customer_id: string;
    next_period_at: Date;
    cancel_time: Date | null;
    segments: { planKey: string; planVersion: number; start: string }[];
  }>(
    `SELECT subscription_id, customer_id, next_period_at, cancel_time, segments FROM subscriptions
     WHERE next_period_at IS NOT NULL AND next_close_at <= $1
     ORDER BY next_close_at, subscription_id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    customerId: r.customer_id,
    nextPeriodAt: r.next_period_at,
    cancelTime: r.cancel_time,
    segments: planSegments(r.segments),
  }));
}

/** What a close decided for one subscription: its next period (null when none is left) and when to look again. */
export interface NextClose {
  subscriptionId: string;
  nextPeriodAt: Date | null;
  nextCloseAt: Date;
}

/** Stores the batch's decisions in one statement. */
export async function scheduleNext(db: Db, next: NextClose[]): Promise<void> {
  if (next.length === 0) return;
  await db.query(
    `UPDATE subscriptions s SET next_period_at = n.next_period_at, next_close_at = n.next_close_at
     FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS n(subscription_id, next_period_at, next_close_at)
     WHERE s.subscription_id = n.subscription_id`,
    [next.map((n) => n.subscriptionId), next.map((n) => n.nextPeriodAt), next.map((n) => n.nextCloseAt)],
  );
}

export async function planSegmentsOf(db: Db, subscriptionIds: string[]): Promise<Map<string, PlanSegment[]>> {
  const { rows } = await db.query<{ subscription_id: string; segments: { planKey: string; planVersion: number; start: string }[] }>(
    `SELECT subscription_id, segments FROM subscriptions WHERE subscription_id = ANY($1)`,
    [subscriptionIds],
  );
  return new Map(rows.map((r) => [r.subscription_id, planSegments(r.segments)]));
}
