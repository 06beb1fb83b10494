import { Decimal } from "@tally/pricing";
import type { Reservation, ReservationStatus } from "../domain/types";
import type { HeldReservation, Settlement } from "../domain/reservation-settlement";
import type { Queryable } from "./queryable";

interface ReservationRow {
  reservation_id: string;
  customer_id: string;
  meter_key: string;
  period_start: Date;
  quantity: string;
  cost: string;
  settled: string;
  status: ReservationStatus;
  create_time: Date;
  expire_time: Date;
}

const COLUMNS = "reservation_id, customer_id, meter_key, period_start, quantity::text, cost::text, settled::text, status, create_time, expire_time";

function toReservation(r: ReservationRow, now?: Date): Reservation {
  const lapsed = now !== undefined && (r.status === "active" || r.status === "committed") && r.expire_time <= now;
  return {
    id: r.reservation_id,
    customerId: r.customer_id,
    meterKey: r.meter_key,
    periodStart: r.period_start,
    quantity: new Decimal(r.quantity),
    cost: new Decimal(r.cost),
    settled: new Decimal(r.settled),
    status: lapsed ? "expired" : r.status,
    createTime: r.create_time,
    expireTime: r.expire_time,
  };
}

export interface Holds {
  /** Units held on the meter. */
  units: Decimal;
  /** Spend held on the meter. */
  meterCost: Decimal;
  /** Spend held on any meter of the customer, this period. */
  totalCost: Decimal;
}

/** Inserts a hold and, for an idempotent Check, its answer: one statement. */
export async function insertReservation(db: Queryable, r: Reservation, idempotent?: { key: string; response: unknown }): Promise<void> {
  await db.query({
    name: "limits-insert-reservation",
    text: `WITH hold AS (
       INSERT INTO reservations (reservation_id, customer_id, meter_key, period_start, quantity, cost, settled, status, create_time, expire_time)
       VALUES ($1, $2, $3, $4, $5, $6, 0, 'active', $7, $8))
     INSERT INTO check_idempotency (customer_id, idempotency_key, response, create_time)
     SELECT $2, $9, $10, $7 WHERE $9::text IS NOT NULL
     ON CONFLICT (customer_id, idempotency_key) DO UPDATE SET response = EXCLUDED.response, create_time = EXCLUDED.create_time`,
    values: [
      r.id, r.customerId, r.meterKey, r.periodStart, r.quantity.toFixed(), r.cost.toFixed(), r.createTime, r.expireTime,
      idempotent?.key ?? null, idempotent ? JSON.stringify(idempotent.response) : null,
    ],
  });
}

export async function findReservation(db: Queryable, id: string, now: Date, lock = false): Promise<Reservation | undefined> {
  const { rows } = await db.query<ReservationRow>(`SELECT ${COLUMNS} FROM reservations WHERE reservation_id = $1${lock ? " FOR UPDATE" : ""}`, [id]);
  return rows[0] && toReservation(rows[0], now);
}

export async function updateReservation(db: Queryable, r: Reservation, commitTime?: Date): Promise<void> {
  await db.query(
    `UPDATE reservations SET quantity = $2, cost = $3, settled = $4, status = $5, commit_time = coalesce($6, commit_time)
     WHERE reservation_id = $1`,
    [r.id, r.quantity.toFixed(), r.cost.toFixed(), r.settled.toFixed(), r.status, commitTime ?? null],
  );
}

/** COMMITTED, unexpired holds on one meter, oldest commit first, locked. */
export async function lockCommittedHolds(db: Queryable, customerId: string, meterKey: string, periodStart: Date, now: Date): Promise<HeldReservation[]> {
  const { rows } = await db.query<{ reservation_id: string; quantity: string; settled: string }>(
    `SELECT reservation_id, quantity::text, settled::text FROM reservations
     WHERE customer_id = $1 AND meter_key = $2 AND period_start = $3 AND status = 'committed' AND expire_time > $4
     ORDER BY commit_time, reservation_id FOR UPDATE`,
    [customerId, meterKey, periodStart, now],
  );
  return rows.map((r) => ({ id: r.reservation_id, quantity: new Decimal(r.quantity), settled: new Decimal(r.settled) }));
}

export async function saveSettlements(db: Queryable, settlements: readonly Settlement[]): Promise<void> {
  if (settlements.length === 0) return;
  await db.query(
    `UPDATE reservations r SET settled = s.settled, status = CASE WHEN s.done THEN 'settled' ELSE r.status END
     FROM unnest($1::text[], $2::numeric[], $3::boolean[]) AS s(id, settled, done) WHERE r.reservation_id = s.id`,
    [settlements.map((s) => s.id), settlements.map((s) => s.settled.toFixed()), settlements.map((s) => s.done)],
  );
}

/**
 * The sweeper: lapsed holds become EXPIRED (they already stopped counting at
 * expire_time, since every read compares with the clock), and reservations
 * that hold nothing are deleted once older than `retainBefore`.
 */
export async function sweepReservations(db: Queryable, now: Date, retainBefore: Date): Promise<{ expired: number; deleted: number }> {
  const expired = await db.query(
    "UPDATE reservations SET status = 'expired' WHERE status IN ('active', 'committed') AND expire_time <= $1",
    [now],
  );
  const deleted = await db.query(
    "DELETE FROM reservations WHERE status IN ('expired', 'released', 'settled') AND expire_time < $1",
    [retainBefore],
  );
  await db.query("DELETE FROM check_idempotency WHERE create_time < $1", [retainBefore]);
  return { expired: expired.rowCount ?? 0, deleted: deleted.rowCount ?? 0 };
}

/**
 * {@link lockCommittedHolds} for many (customer, meter, period) slots in one
 * statement, by `${customer}\0${meter}\0${periodStart ISO}` (the usage store's
 * meterSlotKey); within a slot, oldest commit first.
 */
export async function lockCommittedHoldsOfMany(
  db: Queryable,
  slots: readonly { customerId: string; meterKey: string; periodStart: Date }[],
  now: Date,
): Promise<Map<string, HeldReservation[]>> {
  const out = new Map<string, HeldReservation[]>();
  if (slots.length === 0) return out;
  const { rows } = await db.query<{ customer_id: string; meter_key: string; period_start: Date; reservation_id: string; quantity: string; settled: string }>(
    `SELECT r.customer_id, r.meter_key, r.period_start, r.reservation_id, r.quantity::text, r.settled::text
     FROM reservations r JOIN unnest($1::text[], $2::text[], $3::timestamptz[]) AS k(c, m, p)
       ON r.customer_id = k.c AND r.meter_key = k.m AND r.period_start = k.p
     WHERE r.status = 'committed' AND r.expire_time > $4
     ORDER BY r.customer_id, r.meter_key, r.period_start, r.commit_time, r.reservation_id FOR UPDATE OF r`,
    [slots.map((s) => s.customerId), slots.map((s) => s.meterKey), slots.map((s) => s.periodStart), now],
  );
  for (const r of rows) {
    const key = `${r.customer_id}\u0000${r.meter_key}\u0000${r.period_start.toISOString()}`;
    const list = out.get(key) ?? [];
    list.push({ id: r.reservation_id, quantity: new Decimal(r.quantity), settled: new Decimal(r.settled) });
    out.set(key, list);
  }
  return out;
}
