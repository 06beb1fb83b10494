import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { planPricingFromProto } from "@tally/plan-pricing";
import type { CustomerState, Period, SubscriptionStatus } from "../domain/types";
import type { StoredPlan } from "../domain/plan-pricing";
import type { Queryable } from "./queryable";

interface CustomerRow {
  customer_id: string;
  subscription_id: string | null;
  plan_key: string | null;
  plan_version: number | null;
  status: SubscriptionStatus | null;
  period_start: Date | null;
  period_end: Date | null;
  revision: string;
  prepaid_only: boolean;
  depleted: boolean;
}

function toCustomer(r: CustomerRow): CustomerState {
  return {
    customerId: r.customer_id,
    subscriptionId: r.subscription_id,
    planKey: r.plan_key,
    planVersion: r.plan_version,
    status: r.status,
    period: r.period_start ? { start: r.period_start, end: r.period_end } : null,
    revision: BigInt(r.revision),
    prepaidOnly: r.prepaid_only,
    depleted: r.depleted,
  };
}

const COLUMNS = "customer_id, subscription_id, plan_key, plan_version, status, period_start, period_end, revision::text, prepaid_only, depleted";

export async function findCustomer(db: Queryable, customerId: string, lock = false): Promise<CustomerState | undefined> {
  const { rows } = await db.query<CustomerRow>(`SELECT ${COLUMNS} FROM customers WHERE customer_id = $1${lock ? " FOR UPDATE" : ""}`, [customerId]);
  return rows[0] && toCustomer(rows[0]);
}

/** Creates the customer row if missing and locks it: the customer-wide serialization point. */
export async function lockCustomer(db: Queryable, customerId: string): Promise<CustomerState> {
  await db.query("INSERT INTO customers (customer_id) VALUES ($1) ON CONFLICT DO NOTHING", [customerId]);
  return (await findCustomer(db, customerId, true))!;
}

export interface SubscriptionSnapshot {
  customerId: string;
  subscriptionId: string;
  planKey: string;
  planVersion: number;
  status: SubscriptionStatus;
  period: Period;
  revision: bigint;
}

/** Keeps the snapshot with the highest revision; returns whether this one was newer. */
export async function applySubscription(db: Queryable, s: SubscriptionSnapshot): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO customers (customer_id, subscription_id, plan_key, plan_version, status, period_start, period_end, revision)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (customer_id) DO UPDATE SET subscription_id = EXCLUDED.subscription_id, plan_key = EXCLUDED.plan_key,
       plan_version = EXCLUDED.plan_version, status = EXCLUDED.status, period_start = EXCLUDED.period_start,
       period_end = EXCLUDED.period_end, revision = EXCLUDED.revision
     WHERE customers.revision < EXCLUDED.revision OR customers.subscription_id IS DISTINCT FROM EXCLUDED.subscription_id`,
    [s.customerId, s.subscriptionId, s.planKey, s.planVersion, s.status, s.period.start, s.period.end, s.revision.toString()],
  );
  return (rowCount ?? 0) > 0;
}

export async function setPrepaidOnly(db: Queryable, customerId: string, prepaidOnly: boolean): Promise<void> {
  await db.query(
    `INSERT INTO customers (customer_id, prepaid_only) VALUES ($1, $2)
     ON CONFLICT (customer_id) DO UPDATE SET prepaid_only = EXCLUDED.prepaid_only`,
    [customerId, prepaidOnly],
  );
}

/** Records a transition of the depleted flag; returns the new depletion count when it became depleted. */
export async function setDepleted(db: Queryable, customerId: string, depleted: boolean): Promise<number> {
  const { rows } = await db.query<{ depletion_count: number }>(
    `UPDATE customers SET depleted = $2, depletion_count = depletion_count + (CASE WHEN $2 THEN 1 ELSE 0 END)
     WHERE customer_id = $1 RETURNING depletion_count`,
    [customerId, depleted],
  );
  return rows[0]?.depletion_count ?? 0;
}

export async function addOverage(db: Queryable, customerId: string, delta: string): Promise<string> {
  const { rows } = await db.query<{ overage: string }>(
    "UPDATE customers SET overage = overage + $2 WHERE customer_id = $1 RETURNING overage::text",
    [customerId, delta],
  );
  return rows[0]?.overage ?? "0";
}

/**
 * Locks these customers' rows in customer id order (the order every locker of
 * several customers uses) and returns them with their overage; a customer
 * without a row is absent (and has no grants).
 */
export async function lockCustomersOverage(db: Queryable, customerIds: readonly string[]): Promise<Map<string, { customer: CustomerState; overage: string }>> {
  if (customerIds.length === 0) return new Map();
  const { rows } = await db.query<CustomerRow & { overage: string }>(
    `SELECT ${COLUMNS}, overage::text FROM customers WHERE customer_id = ANY($1::text[]) ORDER BY customer_id FOR UPDATE`,
    [customerIds],
  );
  return new Map(rows.map((r) => [r.customer_id, { customer: toCustomer(r), overage: r.overage }]));
}

/** {@link addOverage} for many customers in one statement. */
export async function addOverages(db: Queryable, deltas: readonly { customerId: string; delta: string }[]): Promise<void> {
  if (deltas.length === 0) return;
  await db.query(
    "UPDATE customers c SET overage = c.overage + d.delta FROM unnest($1::text[], $2::numeric[]) AS d(customer_id, delta) WHERE c.customer_id = d.customer_id",
    [deltas.map((d) => d.customerId), deltas.map((d) => d.delta)],
  );
}

/** Customers' rows by id, unlocked (one statement for a consumed batch). */
export async function findCustomers(db: Queryable, customerIds: readonly string[]): Promise<Map<string, CustomerState>> {
  if (customerIds.length === 0) return new Map();
  const { rows } = await db.query<CustomerRow>(`SELECT ${COLUMNS} FROM customers WHERE customer_id = ANY($1::text[])`, [customerIds]);
  return new Map(rows.map((r) => [r.customer_id, toCustomer(r)]));
}

export async function customerOverage(db: Queryable, customerId: string): Promise<string> {
  const { rows } = await db.query<{ overage: string }>("SELECT overage::text FROM customers WHERE customer_id = $1", [customerId]);
  return rows[0]?.overage ?? "0";
}

/**
 * Keeps a published plan version as rating published it. Its prices are mapped first, so a plan
 * limits cannot price fails here (InvalidArgumentError naming each price) instead of being kept.
 */
export async function savePlan(db: Queryable, plan: rating.Plan): Promise<void> {
  planPricingFromProto(plan.components);
  const components = plan.components.map((c) => toJson(rating.PriceComponentSchema, c));
  await db.query(
    `INSERT INTO plans (plan_key, plan_version, currency, components) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    [plan.key, plan.version, plan.currency, JSON.stringify(components)],
  );
  const meters = [...new Set(plan.components.map((c) => c.meterKey))].sort();
  if (meters.length > 0) {
    await db.query("INSERT INTO known_meters (meter_key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", [meters]);
  }
}

/** A stored plan version, priced through @tally/plan-pricing; throws if a price cannot be read. */
export async function findPlan(db: Queryable, key: string, version: number): Promise<StoredPlan | undefined> {
  const { rows } = await db.query<{ currency: string; components: JsonValue[] }>(
    "SELECT currency, components FROM plans WHERE plan_key = $1 AND plan_version = $2",
    [key, version],
  );
  const row = rows[0];
  if (!row) return undefined;
  let components: rating.PriceComponent[];
  try {
    components = row.components.map((c) => fromJson(rating.PriceComponentSchema, c));
  } catch (err) {
    throw new Error(`stored plan ${key}@${version} is not in the published (proto JSON) form: republish it from rating`, { cause: err });
  }
  return { key, version, currency: row.currency, components: planPricingFromProto(components, `plan ${key}@${version}.components`) };
}

/** The currency of a plan key (it cannot change between versions); null when unknown. */
export async function planCurrency(db: Queryable, key: string): Promise<string | null> {
  const { rows } = await db.query<{ currency: string }>("SELECT currency FROM plans WHERE plan_key = $1 LIMIT 1", [key]);
  return rows[0]?.currency ?? null;
}

export async function meterKnown(db: Queryable, meterKey: string): Promise<boolean> {
  const { rowCount } = await db.query("SELECT 1 FROM known_meters WHERE meter_key = $1", [meterKey]);
  return (rowCount ?? 0) > 0;
}
