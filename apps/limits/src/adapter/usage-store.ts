import { Decimal } from "@tally/pricing";
import type { AppliedAmount } from "../domain/running-amount";
import type { Queryable } from "./queryable";

export interface AmountKey {
  subscriptionId: string;
  componentKey: string;
  dimensionValue: string;
  periodStart: Date;
}

export interface KeptAmount extends AppliedAmount, AmountKey {
  customerId: string;
  meterKey: string;
  periodEnd: Date | null;
  currency: string;
}

interface AmountRow {
  subscription_id: string;
  component_key: string;
  dimension_value: string;
  period_start: Date;
  period_end: Date | null;
  customer_id: string;
  meter_key: string;
  plan_key: string;
  plan_version: number;
  quantity: string;
  base_quantity: string;
  amount: string;
  currency: string;
  sequence: string;
}

const keyOf = (k: AmountKey) => `${k.subscriptionId}\u0000${k.componentKey}\u0000${k.dimensionValue}\u0000${k.periodStart.toISOString()}`;
export { keyOf as amountKeyString };

/** Locks and returns the kept amounts for these keys (in key order, so concurrent appliers never deadlock). */
export async function lockAmounts(db: Queryable, keys: readonly AmountKey[]): Promise<Map<string, KeptAmount>> {
  const sorted = [...keys].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
  const { rows } = await db.query<AmountRow>(
    `SELECT ra.subscription_id, ra.component_key, ra.dimension_value, ra.period_start, ra.period_end, ra.customer_id, ra.meter_key,
            ra.plan_key, ra.plan_version, ra.quantity::text, ra.base_quantity::text, ra.amount::text, ra.currency, ra.sequence::text
     FROM running_amounts ra
     JOIN unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS k(s, c, d, p, n)
       ON ra.subscription_id = k.s AND ra.component_key = k.c AND ra.dimension_value = k.d AND ra.period_start = k.p
     ORDER BY k.n
     FOR UPDATE OF ra`,
    [sorted.map((k) => k.subscriptionId), sorted.map((k) => k.componentKey), sorted.map((k) => k.dimensionValue), sorted.map((k) => k.periodStart)],
  );
  const out = new Map<string, KeptAmount>();
  for (const r of rows) {
    const kept: KeptAmount = {
      subscriptionId: r.subscription_id,
      componentKey: r.component_key,
      dimensionValue: r.dimension_value,
      periodStart: r.period_start,
      periodEnd: r.period_end,
      customerId: r.customer_id,
      meterKey: r.meter_key,
      planKey: r.plan_key,
      planVersion: r.plan_version,
      quantity: new Decimal(r.quantity),
      baseQuantity: new Decimal(r.base_quantity),
      amount: new Decimal(r.amount),
      currency: r.currency,
      sequence: BigInt(r.sequence),
    };
    out.set(keyOf(kept), kept);
  }
  return out;
}

export async function saveAmount(db: Queryable, a: KeptAmount): Promise<void> {
  await db.query(
    `INSERT INTO running_amounts (subscription_id, component_key, dimension_value, period_start, period_end, customer_id, meter_key,
       plan_key, plan_version, quantity, base_quantity, amount, currency, sequence)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (subscription_id, component_key, dimension_value, period_start) DO UPDATE SET
       period_end = EXCLUDED.period_end, customer_id = EXCLUDED.customer_id, meter_key = EXCLUDED.meter_key,
       plan_key = EXCLUDED.plan_key, plan_version = EXCLUDED.plan_version, quantity = EXCLUDED.quantity,
       base_quantity = EXCLUDED.base_quantity, amount = EXCLUDED.amount, currency = EXCLUDED.currency, sequence = EXCLUDED.sequence`,
    [
      a.subscriptionId, a.componentKey, a.dimensionValue, a.periodStart, a.periodEnd, a.customerId, a.meterKey,
      a.planKey, a.planVersion, a.quantity.toFixed(), a.baseQuantity.toFixed(), a.amount.toFixed(), a.currency, a.sequence.toString(),
    ],
  );
}

/**
 * Creates (if missing) and locks the usage row of one (customer, meter,
 * period): the row that serializes reservations on that meter. One
 * statement, so the lock is taken before anything is read.
 */
export async function lockMeterUsage(db: Queryable, customerId: string, meterKey: string, periodStart: Date): Promise<{ quantity: Decimal; spend: Decimal }> {
  const { rows } = await db.query<{ quantity: string; spend: string }>(
    `INSERT INTO meter_usage (customer_id, meter_key, period_start) VALUES ($1, $2, $3)
     ON CONFLICT (customer_id, meter_key, period_start) DO UPDATE SET customer_id = EXCLUDED.customer_id
     RETURNING quantity::text, spend::text`,
    [customerId, meterKey, periodStart],
  );
  return { quantity: new Decimal(rows[0]!.quantity), spend: new Decimal(rows[0]!.spend) };
}

export async function saveMeterUsage(db: Queryable, customerId: string, meterKey: string, periodStart: Date, quantity: Decimal, spend: Decimal): Promise<void> {
  await db.query(
    "UPDATE meter_usage SET quantity = $4, spend = $5 WHERE customer_id = $1 AND meter_key = $2 AND period_start = $3",
    [customerId, meterKey, periodStart, quantity.toFixed(), spend.toFixed()],
  );
}

/** Per component: units (segment + earlier segments) summed over dimensions, and the spend. */
export async function meterComponents(
  db: Queryable,
  customerId: string,
  meterKey: string,
  periodStart: Date,
): Promise<{ componentKey: string; dimensionValue: string; quantity: Decimal; segmentQuantity: Decimal; amount: Decimal }[]> {
  const { rows } = await db.query<{ component_key: string; dimension_value: string; quantity: string; segment_quantity: string; amount: string }>(
    `SELECT component_key, dimension_value, (base_quantity + quantity)::text AS quantity, quantity::text AS segment_quantity, amount::text
     FROM running_amounts WHERE customer_id = $1 AND meter_key = $2 AND period_start = $3`,
    [customerId, meterKey, periodStart],
  );
  return rows.map((r) => ({
    componentKey: r.component_key,
    dimensionValue: r.dimension_value,
    quantity: new Decimal(r.quantity),
    segmentQuantity: new Decimal(r.segment_quantity),
    amount: new Decimal(r.amount),
  }));
}

export async function meterUsageRows(db: Queryable, customerId: string, periodStart: Date): Promise<Map<string, { quantity: Decimal; spend: Decimal }>> {
  const { rows } = await db.query<{ meter_key: string; quantity: string; spend: string }>(
    "SELECT meter_key, quantity::text, spend::text FROM meter_usage WHERE customer_id = $1 AND period_start = $2",
    [customerId, periodStart],
  );
  return new Map(rows.map((r) => [r.meter_key, { quantity: new Decimal(r.quantity), spend: new Decimal(r.spend) }]));
}

/** A (customer, meter, period): the unit meter usage is kept, locked and settled by. */
export interface MeterSlot {
  customerId: string;
  meterKey: string;
  periodStart: Date;
}

export const meterSlotKey = (s: MeterSlot) => `${s.customerId}\u0000${s.meterKey}\u0000${s.periodStart.toISOString()}`;

const slotArrays = (slots: readonly MeterSlot[]) => [slots.map((s) => s.customerId), slots.map((s) => s.meterKey), slots.map((s) => s.periodStart)];

/**
 * {@link lockMeterUsage} for many slots in one statement, locking them in the
 * order given (callers pass them sorted by {@link meterSlotKey}, the order
 * every locker uses). Returns each slot's quantity and spend before the lock.
 */
export async function lockMeterUsages(db: Queryable, slots: readonly MeterSlot[]): Promise<Map<string, { quantity: Decimal; spend: Decimal }>> {
  if (slots.length === 0) return new Map();
  const { rows } = await db.query<{ customer_id: string; meter_key: string; period_start: Date; quantity: string; spend: string }>(
    `INSERT INTO meter_usage (customer_id, meter_key, period_start)
     SELECT c, m, p FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS k(c, m, p, n) ORDER BY n
     ON CONFLICT (customer_id, meter_key, period_start) DO UPDATE SET customer_id = EXCLUDED.customer_id
     RETURNING customer_id, meter_key, period_start, quantity::text, spend::text`,
    slotArrays(slots),
  );
  return new Map(
    rows.map((r) => [meterSlotKey({ customerId: r.customer_id, meterKey: r.meter_key, periodStart: r.period_start }), { quantity: new Decimal(r.quantity), spend: new Decimal(r.spend) }]),
  );
}

/** {@link saveMeterUsage} for many slots in one statement. */
export async function saveMeterUsages(db: Queryable, rows: readonly (MeterSlot & { quantity: Decimal; spend: Decimal })[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE meter_usage u SET quantity = k.q, spend = k.s
     FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[], $5::numeric[]) AS k(c, m, p, q, s)
     WHERE u.customer_id = k.c AND u.meter_key = k.m AND u.period_start = k.p`,
    [...slotArrays(rows), rows.map((r) => r.quantity.toFixed()), rows.map((r) => r.spend.toFixed())],
  );
}

/** {@link saveAmount} for many amounts (one per key) in one statement. */
export async function saveAmounts(db: Queryable, amounts: readonly KeptAmount[]): Promise<void> {
  if (amounts.length === 0) return;
  const col = <T>(f: (a: KeptAmount) => T) => amounts.map(f);
  await db.query(
    `INSERT INTO running_amounts (subscription_id, component_key, dimension_value, period_start, period_end, customer_id, meter_key,
       plan_key, plan_version, quantity, base_quantity, amount, currency, sequence)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[],
       $8::text[], $9::int[], $10::numeric[], $11::numeric[], $12::numeric[], $13::text[], $14::bigint[])
     ON CONFLICT (subscription_id, component_key, dimension_value, period_start) DO UPDATE SET
       period_end = EXCLUDED.period_end, customer_id = EXCLUDED.customer_id, meter_key = EXCLUDED.meter_key,
       plan_key = EXCLUDED.plan_key, plan_version = EXCLUDED.plan_version, quantity = EXCLUDED.quantity,
       base_quantity = EXCLUDED.base_quantity, amount = EXCLUDED.amount, currency = EXCLUDED.currency, sequence = EXCLUDED.sequence`,
    [
      col((a) => a.subscriptionId), col((a) => a.componentKey), col((a) => a.dimensionValue), col((a) => a.periodStart), col((a) => a.periodEnd),
      col((a) => a.customerId), col((a) => a.meterKey), col((a) => a.planKey), col((a) => a.planVersion), col((a) => a.quantity.toFixed()),
      col((a) => a.baseQuantity.toFixed()), col((a) => a.amount.toFixed()), col((a) => a.currency), col((a) => a.sequence.toString()),
    ],
  );
}

type ComponentRow = { componentKey: string; dimensionValue: string; quantity: Decimal; segmentQuantity: Decimal; amount: Decimal };

/** {@link meterComponents} for many slots in one statement, by {@link meterSlotKey} (a slot without rows is absent). */
export async function meterComponentsOfMany(db: Queryable, slots: readonly MeterSlot[]): Promise<Map<string, ComponentRow[]>> {
  const out = new Map<string, ComponentRow[]>();
  if (slots.length === 0) return out;
  const { rows } = await db.query<{ customer_id: string; meter_key: string; period_start: Date; component_key: string; dimension_value: string; quantity: string; segment_quantity: string; amount: string }>(
    `SELECT ra.customer_id, ra.meter_key, ra.period_start, ra.component_key, ra.dimension_value,
            (ra.base_quantity + ra.quantity)::text AS quantity, ra.quantity::text AS segment_quantity, ra.amount::text
     FROM running_amounts ra JOIN unnest($1::text[], $2::text[], $3::timestamptz[]) AS k(c, m, p)
       ON ra.customer_id = k.c AND ra.meter_key = k.m AND ra.period_start = k.p`,
    slotArrays(slots),
  );
  for (const r of rows) {
    const key = meterSlotKey({ customerId: r.customer_id, meterKey: r.meter_key, periodStart: r.period_start });
    const list = out.get(key) ?? [];
    list.push({ componentKey: r.component_key, dimensionValue: r.dimension_value, quantity: new Decimal(r.quantity), segmentQuantity: new Decimal(r.segment_quantity), amount: new Decimal(r.amount) });
    out.set(key, list);
  }
  return out;
}
