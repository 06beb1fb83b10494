import { Decimal } from "@tally/pricing";
import type { LateAdjustment } from "../domain/late-usage";
import type { Invoice, LineKind } from "../domain/types";
import type { Db } from "./db";

interface Row {
  id: string;
  subscription_id: string;
  customer_id: string;
  source_invoice_id: string;
  source_ref: string;
  kind: LineKind;
  component_key: string;
  dimension_value: string;
  period_start: Date;
  period_end: Date;
  line_period_start: Date;
  line_period_end: Date;
  currency: string;
  quantity: string;
  amount: string;
  create_time: Date;
  invoice_id: string | null;
}

const toAdjustment = (r: Row): LateAdjustment => ({
  id: r.id,
  subscriptionId: r.subscription_id,
  customerId: r.customer_id,
  sourceInvoiceId: r.source_invoice_id,
  sourceRef: r.source_ref,
  kind: r.kind,
  componentKey: r.component_key,
  dimensionValue: r.dimension_value,
  period: { start: r.period_start, end: r.period_end },
  linePeriod: { start: r.line_period_start, end: r.line_period_end },
  currency: r.currency,
  quantity: new Decimal(r.quantity),
  amount: new Decimal(r.amount),
  createTime: r.create_time,
  invoiceId: r.invoice_id ?? "",
});

export async function insertAdjustments(db: Db, list: LateAdjustment[]): Promise<void> {
  if (list.length === 0) return;
  await db.query(
    `INSERT INTO late_adjustments (id, subscription_id, customer_id, source_invoice_id, source_ref, kind, component_key, dimension_value, period_start, period_end, line_period_start, line_period_end, currency, quantity, amount, create_time)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id text, subscription_id text, customer_id text, source_invoice_id text, source_ref text, kind text, component_key text,
       dimension_value text, period_start timestamptz, period_end timestamptz, line_period_start timestamptz, line_period_end timestamptz, currency text, quantity numeric, amount numeric, create_time timestamptz)`,
    [
      JSON.stringify(
        list.map((a) => ({
          id: a.id,
          subscription_id: a.subscriptionId,
          customer_id: a.customerId,
          source_invoice_id: a.sourceInvoiceId,
          source_ref: a.sourceRef,
          kind: a.kind,
          component_key: a.componentKey,
          dimension_value: a.dimensionValue,
          period_start: a.period.start,
          period_end: a.period.end,
          line_period_start: a.linePeriod.start,
          line_period_end: a.linePeriod.end,
          currency: a.currency,
          quantity: a.quantity.toFixed(),
          amount: a.amount.toFixed(),
          create_time: a.createTime,
        })),
      ),
    ],
  );
}

/** Every adjustment recorded for these issued invoices (pending or billed), by source invoice. */
export async function adjustmentsFrom(db: Db, sourceInvoiceIds: string[]): Promise<Map<string, LateAdjustment[]>> {
  const { rows } = await db.query<Row>(`SELECT * FROM late_adjustments WHERE source_invoice_id = ANY($1) ORDER BY create_time, id`, [sourceInvoiceIds]);
  return group(rows.map(toAdjustment), (a) => a.sourceInvoiceId);
}

/** Every adjustment these invoices took (billed on them), by the invoice that took it. */
export async function adjustmentsBilledBy(db: Db, invoiceIds: string[]): Promise<Map<string, LateAdjustment[]>> {
  const { rows } = await db.query<Row>(`SELECT * FROM late_adjustments WHERE invoice_id = ANY($1) ORDER BY create_time, id`, [invoiceIds]);
  return group(rows.map(toAdjustment), (a) => a.invoiceId);
}

/**
 * What a subscription's open invoice bills: adjustments not yet taken by a finalized invoice, or
 * already taken by this one. By subscription.
 */
export async function adjustmentsFor(db: Db, invoices: Pick<Invoice, "id" | "subscriptionId">[]): Promise<Map<string, LateAdjustment[]>> {
  if (invoices.length === 0) return new Map();
  const { rows } = await db.query<Row>(
    `SELECT * FROM late_adjustments WHERE subscription_id = ANY($1) AND (invoice_id IS NULL OR invoice_id = ANY($2)) ORDER BY create_time, id`,
    [invoices.map((i) => i.subscriptionId), invoices.map((i) => i.id)],
  );
  return group(rows.map(toAdjustment), (a) => a.subscriptionId);
}

/** Pending adjustments of a customer ("" = all), oldest first: what its next invoices will bill. */
export async function pendingAdjustments(db: Db, customerId: string): Promise<LateAdjustment[]> {
  const { rows } = await db.query<Row>(`SELECT * FROM late_adjustments WHERE invoice_id IS NULL AND ($1 = '' OR customer_id = $1) ORDER BY create_time, id`, [customerId]);
  return rows.map(toAdjustment);
}

/**
 * The finalizing invoice takes its adjustments, in its transaction. False if another invoice took
 * one of them first: the caller rolls back rather than bill it twice.
 */
export async function takeAdjustments(db: Db, invoiceId: string, ids: string[]): Promise<boolean> {
  if (ids.length === 0) return true;
  const { rowCount } = await db.query(`UPDATE late_adjustments SET invoice_id = $1 WHERE id = ANY($2) AND (invoice_id IS NULL OR invoice_id = $1)`, [invoiceId, ids]);
  return rowCount === ids.length;
}

/**
 * A voided invoice gives back the adjustments it billed: pending again, for the subscription's
 * next invoice to take, once. Returns the subscriptions concerned.
 */
export async function releaseAdjustments(db: Db, voidedInvoiceId: string): Promise<string[]> {
  const { rows } = await db.query<{ subscription_id: string }>(
    `UPDATE late_adjustments SET invoice_id = NULL WHERE invoice_id = $1 RETURNING subscription_id`,
    [voidedInvoiceId],
  );
  return [...new Set(rows.map((r) => r.subscription_id))];
}

function group<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of items) out.set(key(t), [...(out.get(key(t)) ?? []), t]);
  return out;
}
