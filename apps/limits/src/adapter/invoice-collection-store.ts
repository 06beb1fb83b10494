import type { Queryable } from "./queryable";

/** Payments gave up on the invoice; a paid invoice stays paid (see migration 005). */
export async function markUncollectible(db: Queryable, invoiceId: string, customerId: string, now: Date): Promise<void> {
  await db.query(
    `INSERT INTO invoice_collection (invoice_id, customer_id, state, update_time) VALUES ($1, $2, 'uncollectible', $3) ON CONFLICT (invoice_id) DO NOTHING`,
    [invoiceId, customerId, now],
  );
}

/** Paid: it no longer blocks its customer. Every paid invoice keeps a (small) row: a late DunningExhausted must not block again. */
export async function markPaid(db: Queryable, invoiceId: string, customerId: string, now: Date): Promise<void> {
  await db.query(
    `INSERT INTO invoice_collection (invoice_id, customer_id, state, update_time) VALUES ($1, $2, 'paid', $3)
     ON CONFLICT (invoice_id) DO UPDATE SET state = 'paid', update_time = EXCLUDED.update_time`,
    [invoiceId, customerId, now],
  );
}

/** Customers blocked now: an unpaid uncollectible invoice, and blocking on (theirs, else `byDefault`). */
export async function blockedCustomers(db: Queryable, byDefault: boolean): Promise<string[]> {
  const { rows } = await db.query<{ customer_id: string }>(
    `SELECT DISTINCT ic.customer_id FROM invoice_collection ic LEFT JOIN customers c ON c.customer_id = ic.customer_id
     WHERE ic.state = 'uncollectible' AND coalesce(c.block_on_uncollectible, $1)`,
    [byDefault],
  );
  return rows.map((r) => r.customer_id);
}

export async function uncollectibleInvoices(db: Queryable, customerId: string): Promise<string[]> {
  const { rows } = await db.query<{ invoice_id: string }>(
    `SELECT invoice_id FROM invoice_collection WHERE customer_id = $1 AND state = 'uncollectible' ORDER BY invoice_id`,
    [customerId],
  );
  return rows.map((r) => r.invoice_id);
}

export async function setBlockOnUncollectible(db: Queryable, customerId: string, block: boolean): Promise<void> {
  await db.query(
    `INSERT INTO customers (customer_id, block_on_uncollectible) VALUES ($1, $2)
     ON CONFLICT (customer_id) DO UPDATE SET block_on_uncollectible = EXCLUDED.block_on_uncollectible`,
    [customerId, block],
  );
}

export async function blockOnUncollectible(db: Queryable, customerId: string): Promise<boolean | null> {
  const { rows } = await db.query<{ block_on_uncollectible: boolean | null }>(`SELECT block_on_uncollectible FROM customers WHERE customer_id = $1`, [customerId]);
  return rows[0]?.block_on_uncollectible ?? null;
}
