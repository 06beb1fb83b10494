import { Decimal, toWire } from "@tally/pricing";
import type { AttemptStatus, PaymentAttempt } from "../domain/attempt";
import type { Queryable } from "./queryable";

interface AttemptRow {
  id: string;
  invoice_id: string;
  customer_id: string;
  attempt_number: number;
  amount: string;
  currency: string;
  status: AttemptStatus;
  idempotency_key: string;
  caller_key: string | null;
  provider_customer_id: string;
  payment_method: string;
  provider_payment_id: string;
  failure_code: string;
  failure_message: string;
  next_retry_time: Date | null;
  create_time: Date;
  update_time: Date;
  traceparent: string | null;
  seq: string;
}

export const toAttempt = (r: AttemptRow): PaymentAttempt & { seq: string } => ({
  ...normalised(r),
  id: r.id,
  invoiceId: r.invoice_id,
  customerId: r.customer_id,
  attemptNumber: r.attempt_number,
  currency: r.currency,
  status: r.status,
  idempotencyKey: r.idempotency_key,
  callerKey: r.caller_key,
  providerCustomerId: r.provider_customer_id,
  paymentMethod: r.payment_method,
  providerPaymentId: r.provider_payment_id,
  failureCode: r.failure_code,
  failureMessage: r.failure_message,
  nextRetryTime: r.next_retry_time,
  createTime: r.create_time,
  updateTime: r.update_time,
  traceparent: r.traceparent,
  seq: r.seq,
});

/** NUMERIC comes back with all its scale ("10.000000000000"): the wire wants "10". */
function normalised(r: AttemptRow): { amount: string } {
  return { amount: toWire(new Decimal(r.amount)) };
}

export type NewAttempt = Omit<PaymentAttempt, "providerPaymentId" | "failureCode" | "failureMessage" | "nextRetryTime" | "updateTime">;

/**
 * Inserts attempts; those already there (same invoice and number, or another pending one for
 * the invoice) are skipped, which is what makes a redelivered event or a second instance
 * start nothing. Returns the ones this call inserted.
 */
export async function insertAttempts(db: Queryable, attempts: NewAttempt[]): Promise<PaymentAttempt[]> {
  if (attempts.length === 0) return [];
  const col = <K extends keyof NewAttempt>(k: K) => attempts.map((a) => a[k]);
  const { rows } = await db.query<AttemptRow>(
    `INSERT INTO attempts (id, invoice_id, customer_id, attempt_number, amount, currency, status, idempotency_key, caller_key,
                           provider_customer_id, payment_method, create_time, update_time, traceparent)
     SELECT id, invoice_id, customer_id, n, amount, currency, status, key, caller, pc, pm, t, t, tp
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::numeric[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::text[])
       AS x(id, invoice_id, customer_id, n, amount, currency, status, key, caller, pc, pm, t, tp)
     ON CONFLICT DO NOTHING
     RETURNING *`,
    [
      col("id"),
      col("invoiceId"),
      col("customerId"),
      col("attemptNumber"),
      col("amount"),
      col("currency"),
      col("status"),
      col("idempotencyKey"),
      col("callerKey"),
      col("providerCustomerId"),
      col("paymentMethod"),
      col("createTime"),
      col("traceparent"),
    ],
  );
  return rows.map(toAttempt);
}

export async function getAttempt(db: Queryable, id: string): Promise<PaymentAttempt | undefined> {
  const { rows } = await db.query<AttemptRow>(`SELECT * FROM attempts WHERE id = $1`, [id]);
  return rows[0] && toAttempt(rows[0]);
}

export async function attemptsOf(db: Queryable, invoiceIds: string[]): Promise<PaymentAttempt[]> {
  const { rows } = await db.query<AttemptRow>(`SELECT * FROM attempts WHERE invoice_id = ANY($1::text[]) ORDER BY invoice_id, attempt_number`, [invoiceIds]);
  return rows.map(toAttempt);
}

/** Locks the ones among `ids` an outcome may still move (pending, or canceled: see canApply). */
export async function lockUnsettled(db: Queryable, ids: string[]): Promise<PaymentAttempt[]> {
  const { rows } = await db.query<AttemptRow>(`SELECT * FROM attempts WHERE id = ANY($1::text[]) AND status IN ('pending', 'canceled') ORDER BY id FOR UPDATE`, [ids]);
  return rows.map(toAttempt);
}

/** The attempt in flight for an invoice, if any (at most one: attempts_one_pending). */
export async function pendingAttemptOf(db: Queryable, invoiceId: string): Promise<PaymentAttempt | undefined> {
  const { rows } = await db.query<AttemptRow>(`SELECT * FROM attempts WHERE invoice_id = $1 AND status = 'pending'`, [invoiceId]);
  return rows[0] && toAttempt(rows[0]);
}

export async function byCallerKey(db: Queryable, key: string): Promise<PaymentAttempt | undefined> {
  const { rows } = await db.query<AttemptRow>(`SELECT * FROM attempts WHERE caller_key = $1`, [key]);
  return rows[0] && toAttempt(rows[0]);
}

/** Records outcomes, many in one statement. */
export async function finishAttempts(
  db: Queryable,
  rows: { id: string; status: AttemptStatus; providerPaymentId: string; failureCode: string; failureMessage: string; nextRetryTime: Date | null }[],
  now: Date,
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE attempts a SET status = x.status, provider_payment_id = COALESCE(NULLIF(x.pp, ''), a.provider_payment_id), failure_code = x.fc,
            failure_message = x.fm, next_retry_time = x.nrt, update_time = $7
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS x(id, status, pp, fc, fm, nrt)
     WHERE a.id = x.id`,
    [rows.map((r) => r.id), rows.map((r) => r.status), rows.map((r) => r.providerPaymentId), rows.map((r) => r.failureCode), rows.map((r) => r.failureMessage), rows.map((r) => r.nextRetryTime), now],
  );
}

/** Nothing further is scheduled for these invoices (paid, voided, or a new attempt took over). */
export async function clearRetries(db: Queryable, invoiceIds: string[]): Promise<void> {
  await db.query(`UPDATE attempts SET next_retry_time = NULL WHERE invoice_id = ANY($1::text[]) AND next_retry_time IS NOT NULL`, [invoiceIds]);
}

/** Failed attempts whose retry is due, on invoices still owed, claimed by clearing their schedule. */
export async function claimDueRetries(db: Queryable, now: Date, limit: number): Promise<PaymentAttempt[]> {
  const { rows } = await db.query<AttemptRow>(
    `UPDATE attempts a SET next_retry_time = NULL
     FROM (SELECT a2.id FROM attempts a2 JOIN invoices i ON i.id = a2.invoice_id
           WHERE a2.next_retry_time <= $1 AND a2.status = 'failed' AND i.state = 'open'
           ORDER BY a2.next_retry_time LIMIT $2 FOR UPDATE OF a2 SKIP LOCKED) due
     WHERE a.id = due.id
     RETURNING a.*`,
    [now, limit],
  );
  return rows.map(toAttempt);
}

/** Pending attempts not touched since `before`: their outcome was lost (crash, timeout). */
export async function stalePending(db: Queryable, before: Date, limit: number): Promise<PaymentAttempt[]> {
  const { rows } = await db.query<AttemptRow>(`SELECT * FROM attempts WHERE status = 'pending' AND update_time <= $1 ORDER BY update_time LIMIT $2`, [before, limit]);
  return rows.map(toAttempt);
}

export async function touchAttempt(db: Queryable, id: string, now: Date): Promise<void> {
  await db.query(`UPDATE attempts SET update_time = $2 WHERE id = $1 AND status = 'pending'`, [id, now]);
}

export async function listAttempts(
  db: Queryable,
  filter: { invoiceId: string; customerId: string; beforeSeq: string | null; limit: number },
): Promise<(PaymentAttempt & { seq: string })[]> {
  const { rows } = await db.query<AttemptRow>(
    `SELECT * FROM attempts
     WHERE ($1 = '' OR invoice_id = $1) AND ($2 = '' OR customer_id = $2) AND ($3::bigint IS NULL OR seq < $3::bigint)
     ORDER BY seq DESC LIMIT $4`,
    [filter.invoiceId, filter.customerId, filter.beforeSeq, filter.limit],
  );
  return rows.map(toAttempt);
}
