import { Decimal, toWire } from "@tally/pricing";
import type { Queryable } from "./queryable";

/** `waiting`: for the invoice's payment to be recorded (see RefundService). */
export type RefundStatus = "waiting" | "pending" | "succeeded" | "failed";
export type RefundReason = "credit_note" | "invoice_voided";

export interface RefundRecord {
  id: string;
  /** Empty for a refund without a credit note (an invoice voided while its payment was in flight). */
  creditNoteId: string;
  reason: RefundReason;
  invoiceId: string;
  amount: string;
  currency: string;
  status: RefundStatus;
  providerRefundId: string;
  failureCode: string;
  createTime: Date;
  updateTime: Date;
  seq: string;
}

interface RefundRow {
  id: string;
  credit_note_id: string | null;
  reason: RefundReason;
  invoice_id: string;
  amount: string;
  currency: string;
  status: RefundStatus;
  provider_refund_id: string;
  failure_code: string;
  create_time: Date;
  update_time: Date;
  seq: string;
}

const toRefund = (r: RefundRow): RefundRecord => ({
  id: r.id,
  creditNoteId: r.credit_note_id ?? "",
  reason: r.reason,
  invoiceId: r.invoice_id,
  amount: toWire(new Decimal(r.amount)),
  currency: r.currency,
  status: r.status,
  providerRefundId: r.provider_refund_id,
  failureCode: r.failure_code,
  createTime: r.create_time,
  updateTime: r.update_time,
  seq: r.seq,
});

/** One refund per credit note (or per voided attempt): a redelivered event inserts nothing. */
export async function insertRefund(db: Queryable, r: Omit<RefundRecord, "providerRefundId" | "updateTime" | "seq">): Promise<RefundRecord | undefined> {
  const { rows } = await db.query<RefundRow>(
    `INSERT INTO refunds (id, credit_note_id, reason, invoice_id, amount, currency, status, failure_code, create_time, update_time)
     VALUES ($1, NULLIF($2, ''), $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT DO NOTHING RETURNING *`,
    [r.id, r.creditNoteId, r.reason, r.invoiceId, r.amount, r.currency, r.status, r.failureCode, r.createTime],
  );
  return rows[0] && toRefund(rows[0]);
}

/** Refunds of the invoice that count against what was paid: sent (pending) or succeeded. */
export async function committedRefundTotal(db: Queryable, invoiceId: string): Promise<string> {
  const { rows } = await db.query<{ total: string }>(
    `SELECT COALESCE(sum(amount), 0)::text AS total FROM refunds WHERE invoice_id = $1 AND status IN ('pending', 'succeeded')`,
    [invoiceId],
  );
  return rows[0]!.total;
}

/** The refunds waiting for these invoices' payments, locked, oldest first (the order they are granted in). */
export async function lockWaitingRefunds(db: Queryable, invoiceIds: string[]): Promise<RefundRecord[]> {
  const { rows } = await db.query<RefundRow>(`SELECT * FROM refunds WHERE invoice_id = ANY($1::text[]) AND status = 'waiting' ORDER BY invoice_id, seq FOR UPDATE`, [
    invoiceIds,
  ]);
  return rows.map(toRefund);
}

/** Moves waiting refunds on: to pending (to be sent) or failed (with why). */
export async function setRefundStatuses(db: Queryable, rows: { id: string; status: RefundStatus; failureCode: string }[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE refunds r SET status = x.status, failure_code = x.fc, update_time = $4
     FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, status, fc) WHERE r.id = x.id`,
    [rows.map((r) => r.id), rows.map((r) => r.status), rows.map((r) => r.failureCode), now],
  );
}

export async function lockRefund(db: Queryable, id: string): Promise<RefundRecord | undefined> {
  const { rows } = await db.query<RefundRow>(`SELECT * FROM refunds WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0] && toRefund(rows[0]);
}

export async function finishRefund(db: Queryable, id: string, status: RefundStatus, providerRefundId: string, failureCode: string, now: Date): Promise<void> {
  await db.query(`UPDATE refunds SET status = $2, provider_refund_id = $3, failure_code = $4, update_time = $5 WHERE id = $1`, [id, status, providerRefundId, failureCode, now]);
}

export async function stalePendingRefunds(db: Queryable, before: Date, limit: number): Promise<RefundRecord[]> {
  const { rows } = await db.query<RefundRow>(`SELECT * FROM refunds WHERE status = 'pending' AND update_time <= $1 ORDER BY update_time LIMIT $2`, [before, limit]);
  return rows.map(toRefund);
}

export async function refundsOf(db: Queryable, invoiceIds: string[]): Promise<RefundRecord[]> {
  const { rows } = await db.query<RefundRow>(`SELECT * FROM refunds WHERE invoice_id = ANY($1::text[])`, [invoiceIds]);
  return rows.map(toRefund);
}

export async function listRefunds(db: Queryable, filter: { invoiceId: string; beforeSeq: string | null; limit: number }): Promise<RefundRecord[]> {
  const { rows } = await db.query<RefundRow>(
    `SELECT * FROM refunds WHERE ($1 = '' OR invoice_id = $1) AND ($2::bigint IS NULL OR seq < $2::bigint) ORDER BY seq DESC LIMIT $3`,
    [filter.invoiceId, filter.beforeSeq, filter.limit],
  );
  return rows.map(toRefund);
}
