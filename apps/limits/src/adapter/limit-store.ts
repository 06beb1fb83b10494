import { Decimal } from "@tally/pricing";
import type { AlertThreshold, Limit, LimitKind, LimitMeasure, LimitScope } from "../domain/types";
import type { Queryable } from "./queryable";

export interface LimitRow {
  limit_id: string;
  plan_key: string | null;
  customer_id: string | null;
  meter_key: string;
  kind: LimitKind;
  measure: LimitMeasure;
  value: string;
  currency: string;
  alerts: ({ percent: string } | { absolute: string })[];
}

const COLUMNS = "limit_id, plan_key, customer_id, meter_key, kind, measure, value::text, currency, alerts";

export function limitFromRow(r: LimitRow): Limit {
  return {
    id: r.limit_id,
    scope: r.plan_key !== null ? { planKey: r.plan_key } : { customerId: r.customer_id! },
    meterKey: r.meter_key,
    kind: r.kind,
    measure: r.measure,
    value: new Decimal(r.value),
    currency: r.currency,
    alerts: r.alerts.map((a): AlertThreshold => ("percent" in a ? { percent: new Decimal(a.percent) } : { absolute: new Decimal(a.absolute) })),
  };
}

function alertsJson(alerts: readonly AlertThreshold[]): string {
  return JSON.stringify(alerts.map((a) => ("percent" in a ? { percent: a.percent.toFixed() } : { absolute: a.absolute.toFixed() })));
}

const scopeColumns = (scope: LimitScope) =>
  "planKey" in scope ? [scope.planKey, null] : [null, scope.customerId];

export async function findLimit(db: Queryable, id: string): Promise<Limit | undefined> {
  const { rows } = await db.query<LimitRow>(`SELECT ${COLUMNS} FROM limits WHERE limit_id = $1`, [id]);
  return rows[0] && limitFromRow(rows[0]);
}

/**
 * Inserts or replaces. With `id` set it updates that row; otherwise it
 * replaces the limit in the same (scope, meter_key, measure, kind) slot,
 * keeping its id, or creates one with `newId`.
 */
export async function upsertLimit(db: Queryable, limit: Limit, byId: boolean): Promise<Limit> {
  const [planKey, customerId] = scopeColumns(limit.scope);
  const values = [limit.id, planKey, customerId, limit.meterKey, limit.kind, limit.measure, limit.value.toFixed(), limit.currency, alertsJson(limit.alerts)];
  if (byId) {
    const { rows } = await db.query<LimitRow>(
      `UPDATE limits SET plan_key = $2, customer_id = $3, meter_key = $4, kind = $5, measure = $6, value = $7, currency = $8, alerts = $9
       WHERE limit_id = $1 RETURNING ${COLUMNS}`,
      values,
    );
    return limitFromRow(rows[0]!);
  }
  const conflict = planKey !== null ? "(plan_key, meter_key, measure, kind) WHERE plan_key IS NOT NULL" : "(customer_id, meter_key, measure, kind) WHERE customer_id IS NOT NULL";
  const { rows } = await db.query<LimitRow>(
    `INSERT INTO limits (limit_id, plan_key, customer_id, meter_key, kind, measure, value, currency, alerts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT ${conflict} DO UPDATE SET value = EXCLUDED.value, currency = EXCLUDED.currency, alerts = EXCLUDED.alerts
     RETURNING ${COLUMNS}`,
    values,
  );
  return limitFromRow(rows[0]!);
}

export async function deleteLimit(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query("DELETE FROM limits WHERE limit_id = $1", [id]);
  return (rowCount ?? 0) > 0;
}

export async function planLimits(db: Queryable, planKey: string): Promise<Limit[]> {
  const { rows } = await db.query<LimitRow>(`SELECT ${COLUMNS} FROM limits WHERE plan_key = $1`, [planKey]);
  return rows.map(limitFromRow);
}

/**
 * {@link customerLimitCandidates} for many customers in one statement: every
 * override of these customers and every default of these plans; pick a
 * customer's candidates with {@link candidatesOf}.
 */
export async function limitCandidatesOfMany(db: Queryable, customerIds: readonly string[], planKeys: readonly string[]): Promise<Limit[]> {
  if (customerIds.length === 0) return [];
  const { rows } = await db.query<LimitRow>(`SELECT ${COLUMNS} FROM limits WHERE customer_id = ANY($1::text[]) OR plan_key = ANY($2::text[])`, [customerIds, planKeys]);
  return rows.map(limitFromRow);
}

/** One customer's candidates out of {@link limitCandidatesOfMany}'s rows: the same rows {@link customerLimitCandidates} reads. */
export function candidatesOf(rows: readonly Limit[], customerId: string, planKey: string | null): Limit[] {
  return rows.filter((l) => ("planKey" in l.scope ? l.scope.planKey === planKey : l.scope.customerId === customerId));
}

/** The customer's overrides plus its plan's defaults (resolution is the domain's job). */
export async function customerLimitCandidates(db: Queryable, customerId: string, planKey: string | null): Promise<Limit[]> {
  const { rows } = await db.query<LimitRow>(`SELECT ${COLUMNS} FROM limits WHERE customer_id = $1 OR plan_key = $2`, [customerId, planKey]);
  return rows.map(limitFromRow);
}
