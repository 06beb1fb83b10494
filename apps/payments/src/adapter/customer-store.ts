import type { Queryable } from "./queryable";

export interface CustomerMapping {
  customerId: string;
  providerCustomerId: string;
  defaultPaymentMethod: string;
}

export async function customersOf(db: Queryable, ids: string[]): Promise<Map<string, CustomerMapping>> {
  const { rows } = await db.query<{ customer_id: string; provider_customer_id: string; default_payment_method: string }>(
    `SELECT * FROM customers WHERE customer_id = ANY($1::text[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.customer_id, { customerId: r.customer_id, providerCustomerId: r.provider_customer_id, defaultPaymentMethod: r.default_payment_method }]));
}

export async function saveCustomer(db: Queryable, c: CustomerMapping): Promise<void> {
  await db.query(
    `INSERT INTO customers (customer_id, provider_customer_id, default_payment_method) VALUES ($1, $2, $3)
     ON CONFLICT (customer_id) DO UPDATE SET provider_customer_id = EXCLUDED.provider_customer_id, default_payment_method = EXCLUDED.default_payment_method`,
    [c.customerId, c.providerCustomerId, c.defaultPaymentMethod],
  );
}
