import { Decimal } from "@tally/pricing";
import type { ValidCustomer } from "../domain/customer-validation";
import type { Customer } from "../domain/types";
import type { Db } from "./db";

interface Row {
  customer_id: string;
  legal_name: string;
  email: string;
  billing_address: Customer["billingAddress"];
  currency: string;
  time_zone: string;
  grace_ms: string;
  net_terms_days: number;
  tax_rates: { name: string; percent: string }[];
  tax_exempt: boolean;
  invoice_prefix: string;
  balance: string;
  create_time: Date;
  update_time: Date;
}

const toCustomer = (r: Row): Customer => ({
  customerId: r.customer_id,
  legalName: r.legal_name,
  email: r.email,
  billingAddress: r.billing_address,
  currency: r.currency,
  timeZone: r.time_zone,
  graceMs: Number(r.grace_ms),
  netTermsDays: r.net_terms_days,
  taxRates: r.tax_rates.map((t) => ({ name: t.name, percent: new Decimal(t.percent) })),
  taxExempt: r.tax_exempt,
  invoicePrefix: r.invoice_prefix,
  balance: new Decimal(r.balance),
  createTime: r.create_time,
  updateTime: r.update_time,
});

const params = (c: ValidCustomer) => [
  c.customerId,
  c.legalName,
  c.email,
  JSON.stringify(c.billingAddress),
  c.currency,
  c.graceMs,
  c.netTermsDays,
  JSON.stringify(c.taxRates.map((t) => ({ name: t.name, percent: t.percent.toFixed() }))),
  c.taxExempt,
  c.invoicePrefix,
];

/** Inserts unless the id is taken; returns whether it inserted. */
export async function insertCustomer(db: Db, c: ValidCustomer, now: Date): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO customers (customer_id, legal_name, email, billing_address, currency, grace_ms, net_terms_days, tax_rates, tax_exempt, invoice_prefix, create_time, update_time)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT (customer_id) DO NOTHING`,
    [...params(c), now],
  );
  return rowCount === 1;
}

export async function updateCustomer(db: Db, c: ValidCustomer, now: Date): Promise<void> {
  await db.query(
    `UPDATE customers SET legal_name = $2, email = $3, billing_address = $4, currency = $5, grace_ms = $6, net_terms_days = $7, tax_rates = $8,
            tax_exempt = $9, invoice_prefix = $10, update_time = $11 WHERE customer_id = $1`,
    [...params(c), now],
  );
}

export async function getCustomer(db: Db, customerId: string, forUpdate = false): Promise<Customer | undefined> {
  const { rows } = await db.query<Row>(`SELECT * FROM customers WHERE customer_id = $1${forUpdate ? " FOR UPDATE" : ""}`, [customerId]);
  return rows[0] && toCustomer(rows[0]);
}

/** `forUpdate` locks them in id order (finalizers never deadlock on each other). */
export async function getCustomers(db: Db, ids: string[], forUpdate = false): Promise<Map<string, Customer>> {
  const { rows } = await db.query<Row>(`SELECT * FROM customers WHERE customer_id = ANY($1) ORDER BY customer_id${forUpdate ? " FOR UPDATE" : ""}`, [ids]);
  return new Map(rows.map((r) => [r.customer_id, toCustomer(r)]));
}

export async function listCustomers(db: Db, afterId: string, limit: number): Promise<Customer[]> {
  const { rows } = await db.query<Row>(`SELECT * FROM customers WHERE customer_id > $1 ORDER BY customer_id LIMIT $2`, [afterId, limit]);
  return rows.map(toCustomer);
}

export async function setTimeZone(db: Db, customerId: string, timeZone: string): Promise<void> {
  await db.query(`UPDATE customers SET time_zone = $2 WHERE customer_id = $1 AND time_zone <> $2`, [customerId, timeZone]);
}

/** Moves the balance by `delta`, recorded once by `sourceRef`; false if that ref was already recorded. */
export async function moveBalance(db: Db, customerId: string, delta: Decimal, sourceRef: string, now: Date): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO balance_entries (customer_id, amount, source_ref, create_time) VALUES ($1, $2, $3, $4) ON CONFLICT (source_ref) DO NOTHING`,
    [customerId, delta.toFixed(), sourceRef, now],
  );
  if (rowCount !== 1) return false;
  await db.query(`UPDATE customers SET balance = balance + $2 WHERE customer_id = $1`, [customerId, delta.toFixed()]);
  return true;
}
