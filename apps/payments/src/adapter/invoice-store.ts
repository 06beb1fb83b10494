import { Decimal, toWire } from "@tally/pricing";
import type { InvoiceCopy, InvoiceState } from "../domain/invoice";
import type { Queryable } from "./queryable";

interface InvoiceRow {
  id: string;
  customer_id: string;
  currency: string;
  amount_due: string;
  state: InvoiceState;
  finalize_time: Date;
  amount_paid: string;
  amount_refunded: string;
}

const toInvoice = (r: InvoiceRow): InvoiceCopy => ({
  id: r.id,
  customerId: r.customer_id,
  currency: r.currency,
  amountDue: toWire(new Decimal(r.amount_due)),
  state: r.state,
  finalizeTime: r.finalize_time,
  amountPaid: toWire(new Decimal(r.amount_paid)),
  amountRefunded: toWire(new Decimal(r.amount_refunded)),
});

/**
 * Records finalized invoices (many rows, one statement). A redelivered or late event never
 * reopens an invoice that was paid, voided or given up on since.
 */
export async function upsertFinalized(db: Queryable, invoices: Pick<InvoiceCopy, "id" | "customerId" | "currency" | "amountDue" | "finalizeTime">[]): Promise<void> {
  if (invoices.length === 0) return;
  await db.query(
    `INSERT INTO invoices (id, customer_id, currency, amount_due, state, finalize_time)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::text[], $6::timestamptz[])
     ON CONFLICT (id) DO NOTHING`,
    [
      invoices.map((i) => i.id),
      invoices.map((i) => i.customerId),
      invoices.map((i) => i.currency),
      invoices.map((i) => i.amountDue),
      invoices.map(() => "open"),
      invoices.map((i) => i.finalizeTime),
    ],
  );
}

export async function openInvoiceIds(db: Queryable, ids: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM invoices WHERE id = ANY($1::text[]) AND state = 'open'`, [ids]);
  return new Set(rows.map((r) => r.id));
}

export async function voidedInvoiceIds(db: Queryable, ids: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM invoices WHERE id = ANY($1::text[]) AND state = 'void'`, [ids]);
  return new Set(rows.map((r) => r.id));
}

export async function getInvoice(db: Queryable, id: string, lock = false): Promise<InvoiceCopy | undefined> {
  const { rows } = await db.query<InvoiceRow>(`SELECT * FROM invoices WHERE id = $1 ${lock ? "FOR UPDATE" : ""}`, [id]);
  return rows[0] && toInvoice(rows[0]);
}

/** Many invoices' new states in one statement; `amountPaid` null keeps what is there. */
export async function setInvoiceStates(db: Queryable, rows: { id: string; state: InvoiceState; amountPaid: string | null }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE invoices i SET state = x.state, amount_paid = COALESCE(x.paid, i.amount_paid)
     FROM unnest($1::text[], $2::text[], $3::numeric[]) AS x(id, state, paid) WHERE i.id = x.id`,
    [rows.map((r) => r.id), rows.map((r) => r.state), rows.map((r) => r.amountPaid)],
  );
}

export async function addRefunded(db: Queryable, id: string, amount: string): Promise<void> {
  await db.query(`UPDATE invoices SET amount_refunded = amount_refunded + $2::numeric WHERE id = $1`, [id, amount]);
}

export async function invoicesFinalizedIn(db: Queryable, currency: string, start: Date, end: Date): Promise<InvoiceCopy[]> {
  const { rows } = await db.query<InvoiceRow>(`SELECT * FROM invoices WHERE currency = $1 AND finalize_time >= $2 AND finalize_time < $3`, [currency, start, end]);
  return rows.map(toInvoice);
}

/** Remembers invoicing events applied; returns the ids not seen before. */
export async function markConsumed(db: Queryable, ids: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>(`INSERT INTO consumed_events (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING id`, [ids]);
  return new Set(rows.map((r) => r.id));
}
