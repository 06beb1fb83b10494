import type { Db } from "./db";

/**
 * Plan versions in force, as a subscription.changed snapshot lists them. Kept for reference only:
 * an invoice takes each segment's plan from rating's PreviewPeriods answer (the same history as
 * its lines), never from here, since this copy may lag behind a change made just before a close.
 */
export interface PlanSegment {
  planKey: string;
  planVersion: number;
  start: Date;
}

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
 * A snapshot carries the segments of its current period only, and periods are often closed
 * (and finalized, and re-priced for late usage) after rating moved on to the next one: the
 * segments before the snapshot's first are kept (a record of the history; invoices take their
 * plan versions from rating's PreviewPeriods, see PlanSegment).
 */
export async function upsertSubscription(db: Db, s: SubscriptionRecord): Promise<void> {
  await db.query(
    `INSERT INTO subscriptions (subscription_id, customer_id, time_zone, start_time, cancel_time, revision, segments, next_period_at, next_close_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $4, $4)
     ON CONFLICT (subscription_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, cancel_time = EXCLUDED.cancel_time, revision = EXCLUDED.revision,
       segments = (
         SELECT coalesce(jsonb_agg(e ORDER BY (e->>'start')::timestamptz), '[]'::jsonb) FROM (
           SELECT e FROM jsonb_array_elements(subscriptions.segments) e
           WHERE (e->>'start')::timestamptz < coalesce((SELECT min((x->>'start')::timestamptz) FROM jsonb_array_elements(EXCLUDED.segments) x), 'infinity')
           UNION ALL
           SELECT e FROM jsonb_array_elements(EXCLUDED.segments) e
         ) kept)
     WHERE subscriptions.revision < EXCLUDED.revision`,
    [s.subscriptionId, s.customerId, s.timeZone, s.startTime, s.cancelTime, s.revision, JSON.stringify(s.segments)],
  );
}

export interface DueSubscription {
  subscriptionId: string;
  customerId: string;
  nextPeriodAt: Date;
  cancelTime: Date | null;
}

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
  }>(
    `SELECT subscription_id, customer_id, next_period_at, cancel_time FROM subscriptions
     WHERE next_period_at IS NOT NULL AND next_close_at <= $1
     ORDER BY next_close_at, subscription_id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    customerId: r.customer_id,
    nextPeriodAt: r.next_period_at,
    cancelTime: r.cancel_time,
  }));
}

/**
 * Subscriptions with no period left to close (canceled) that have pending late adjustments and
 * no open draft to bill them: each gets a final adjustments invoice (placed after the latest
 * invoice of the subscription: `lastPeriodStart`). Locked, so concurrent cycles
 * each take different ones; the draft check runs again in every statement (READ COMMITTED), so
 * one committed by another instance is seen. A late credit alone (credit, no usage to bill) opens
 * no invoice of its own: it rides with the late usage that burned it.
 */
export async function claimEndedWithPendingAdjustments(db: Db, limit: number): Promise<{ subscriptionId: string; customerId: string; lastPeriodStart: Date | null }[]> {
  const { rows } = await db.query<{ subscription_id: string; customer_id: string; last_period_start: Date | null }>(
    `SELECT subscription_id, customer_id, (SELECT max(period_start) FROM invoices i WHERE i.subscription_id = s.subscription_id) AS last_period_start
     FROM subscriptions s
     WHERE next_period_at IS NULL
       AND EXISTS (SELECT 1 FROM late_adjustments a WHERE a.subscription_id = s.subscription_id AND a.invoice_id IS NULL AND a.kind <> 'late_credit')
       AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.subscription_id AND i.status = 'draft')
     ORDER BY subscription_id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows.map((r) => ({ subscriptionId: r.subscription_id, customerId: r.customer_id, lastPeriodStart: r.last_period_start }));
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
