import type { BillingAnchor, BillingInterval } from "../domain/periods";
import type { SubscriptionFacts, SubscriptionStatus } from "../domain/subscription";
import type { Db } from "./db";

export interface SubscriptionRow extends SubscriptionFacts {
  idempotencyKey: string | null;
  announcedStatus: SubscriptionStatus;
  announcedPeriodEnd: Date | null;
}

interface RawRow {
  id: string;
  customer_id: string;
  time_zone: string;
  anchor: BillingAnchor;
  start_time: Date;
  cancel_time: Date | null;
  phases: { from: string; interval: BillingInterval }[];
  segments: { start: string; planKey: string; planVersion: number }[];
  idempotency_key: string | null;
  create_time: Date;
  revision: string;
  announced_status: SubscriptionStatus;
  announced_period_end: Date | null;
}

const COLUMNS =
  "id, customer_id, time_zone, anchor, start_time, cancel_time, phases, segments, idempotency_key, create_time, revision, announced_status, announced_period_end";

function toRow(r: RawRow): SubscriptionRow {
  return {
    id: r.id,
    customerId: r.customer_id,
    timeZone: r.time_zone,
    anchor: r.anchor,
    startTime: r.start_time,
    cancelTime: r.cancel_time,
    phases: r.phases.map((p) => ({ from: new Date(p.from), interval: p.interval })),
    segments: r.segments.map((s) => ({ start: new Date(s.start), planKey: s.planKey, planVersion: s.planVersion })),
    idempotencyKey: r.idempotency_key,
    createTime: r.create_time,
    revision: Number(r.revision),
    announcedStatus: r.announced_status,
    announcedPeriodEnd: r.announced_period_end,
  };
}

function params(s: SubscriptionRow): unknown[] {
  return [
    s.id,
    s.customerId,
    s.timeZone,
    s.anchor,
    s.startTime,
    s.cancelTime,
    JSON.stringify(s.phases.map((p) => ({ from: p.from.toISOString(), interval: p.interval }))),
    JSON.stringify(s.segments.map((x) => ({ start: x.start.toISOString(), planKey: x.planKey, planVersion: x.planVersion }))),
    s.idempotencyKey,
    s.createTime,
    s.revision,
    s.announcedStatus,
    s.announcedPeriodEnd,
  ];
}

/** Serialises subscription writes of one customer (the one-live-subscription rule). */
export async function lockCustomer(db: Db, customerId: string): Promise<void> {
  await db.query("SELECT pg_advisory_xact_lock(hashtext('rating.customer:' || $1))", [customerId]);
}

export async function insertSubscription(db: Db, s: SubscriptionRow): Promise<void> {
  await db.query(`INSERT INTO subscriptions (${COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`, params(s));
}

export async function updateSubscription(db: Db, s: SubscriptionRow): Promise<void> {
  const p = params(s);
  await db.query(
    `UPDATE subscriptions SET cancel_time = $2, phases = $3, segments = $4, revision = $5, announced_status = $6, announced_period_end = $7
     WHERE id = $1`,
    [p[0], p[5], p[6], p[7], p[10], p[11], p[12]],
  );
}

export async function getSubscription(db: Db, id: string, forUpdate = false): Promise<SubscriptionRow | undefined> {
  const { rows } = await db.query<RawRow>(`SELECT ${COLUMNS} FROM subscriptions WHERE id = $1${forUpdate ? " FOR UPDATE" : ""}`, [id]);
  return rows[0] && toRow(rows[0]);
}

/** Every subscription of these customers (rating picks the one covering each event time). */
export async function subscriptionsOfCustomers(db: Db, customerIds: string[]): Promise<SubscriptionRow[]> {
  const { rows } = await db.query<RawRow>(`SELECT ${COLUMNS} FROM subscriptions WHERE customer_id = ANY($1::text[]) ORDER BY start_time`, [customerIds]);
  return rows.map(toRow);
}

/** Newest first; the cursor is (create_time, id) of the last row returned. */
export async function listSubscriptions(
  db: Db,
  customerId: string,
  after: { createTime: Date; id: string } | undefined,
  limit: number,
): Promise<SubscriptionRow[]> {
  const { rows } = await db.query<RawRow>(
    `SELECT ${COLUMNS} FROM subscriptions
     WHERE ($1 = '' OR customer_id = $1) AND ($2::timestamptz IS NULL OR (create_time, id) < ($2, $3))
     ORDER BY create_time DESC, id DESC LIMIT $4`,
    [customerId, after?.createTime ?? null, after?.id ?? "", limit],
  );
  return rows.map(toRow);
}

/** Subscriptions not ended, for revenue forecasts. */
export async function liveSubscriptions(db: Db, now: Date): Promise<SubscriptionRow[]> {
  const { rows } = await db.query<RawRow>(
    `SELECT ${COLUMNS} FROM subscriptions WHERE start_time <= $1 AND (cancel_time IS NULL OR cancel_time > $1)`,
    [now],
  );
  return rows.map(toRow);
}

/** Subscriptions live at some instant of [start, end): revenue over a window bills them, finals of canceled ones included. */
export async function subscriptionsOverlapping(db: Db, start: Date, end: Date): Promise<SubscriptionRow[]> {
  const { rows } = await db.query<RawRow>(
    `SELECT ${COLUMNS} FROM subscriptions WHERE start_time < $2 AND (cancel_time IS NULL OR cancel_time >= $1)`,
    [start, end],
  );
  return rows.map(toRow);
}

/** Subscriptions whose announced state is behind `now`, locked, skipping those another instance holds. */
export async function claimDueSubscriptions(db: Db, now: Date, limit: number): Promise<SubscriptionRow[]> {
  const { rows } = await db.query<RawRow>(
    `SELECT ${COLUMNS} FROM subscriptions
     WHERE announced_status <> 'canceled' AND (announced_period_end <= $1 OR (announced_status = 'pending' AND start_time <= $1))
     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows.map(toRow);
}
