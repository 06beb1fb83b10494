import { currentTraceparent } from "@tally/platform";
import { Decimal } from "@tally/pricing";
import type { CreditNote, Invoice, InvoiceLine, InvoiceStatus, Segment } from "../domain/types";
import type { TaxLine } from "../domain/invoice-amounts";
import type { Db } from "./db";

/** JSON shapes of the jsonb columns: decimals as strings, times as ISO strings. */
type Json<T> = T extends Decimal ? string : T extends Date ? string : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;

interface Row {
  id: string;
  number: string | null;
  customer_id: string;
  subscription_id: string;
  status: InvoiceStatus;
  currency: string;
  customer_name: string;
  period_start: Date;
  period_end: Date;
  nominal_period_start: Date | null;
  nominal_period_end: Date | null;
  segments: Json<Segment>[];
  lines: Json<InvoiceLine>[];
  tax_lines: Json<TaxLine>[];
  tax_exempt: boolean;
  subtotal: string;
  total: string;
  credits_applied: string;
  credits_burned: string;
  balance_applied: string;
  taxable_amount: string;
  tax_total: string;
  amount_due: string;
  amount_paid: string;
  amount_credited: string;
  amount_refunded: string;
  sequence_prefix: string;
  create_time: Date;
  finalize_after: Date;
  finalize_time: Date | null;
  due_time: Date | null;
  paid_time: Date | null;
  void_time: Date | null;
  traceparent: string | null;
  stale: boolean;
}

const D = (s: string) => new Decimal(s);
const range = (p: { start: string; end: string }) => ({ start: new Date(p.start), end: new Date(p.end) });

function toInvoice(r: Row): Invoice {
  return {
    id: r.id,
    number: r.number ?? "",
    customerId: r.customer_id,
    subscriptionId: r.subscription_id,
    status: r.status,
    currency: r.currency,
    customerName: r.customer_name,
    period: { start: r.period_start, end: r.period_end },
    nominalPeriod: r.nominal_period_start && r.nominal_period_end ? { start: r.nominal_period_start, end: r.nominal_period_end } : undefined,
    segments: r.segments.map((s) => ({ ...s, range: range(s.range), fraction: D(s.fraction) })),
    lines: r.lines.map((l) => ({ ...l, quantity: D(l.quantity), amount: D(l.amount), roundedAmount: D(l.roundedAmount), period: range(l.period) })),
    subtotal: D(r.subtotal),
    total: D(r.total),
    creditsApplied: D(r.credits_applied),
    creditsBurned: D(r.credits_burned),
    balanceApplied: D(r.balance_applied),
    taxableAmount: D(r.taxable_amount),
    taxLines: r.tax_lines.map((t) => ({ name: t.name, percent: D(t.percent), taxableAmount: D(t.taxableAmount), amount: D(t.amount) })),
    taxTotal: D(r.tax_total),
    taxExempt: r.tax_exempt,
    amountDue: D(r.amount_due),
    amountPaid: D(r.amount_paid),
    amountCredited: D(r.amount_credited),
    amountRefunded: D(r.amount_refunded),
    sequencePrefix: r.sequence_prefix,
    createTime: r.create_time,
    finalizeAfter: r.finalize_after,
    finalizeTime: r.finalize_time,
    dueTime: r.due_time,
    paidTime: r.paid_time,
    voidTime: r.void_time,
    traceparent: r.traceparent ?? undefined,
  };
}

/** What goes in the jsonb columns: Decimal and Date serialise themselves (@tally/pricing's Decimal never uses exponents). */
const toJson = (value: unknown): string => JSON.stringify(value);

const AMOUNT_COLUMNS = [
  "nominal_period_start",
  "nominal_period_end",
  "segments",
  "lines",
  "tax_lines",
  "tax_exempt",
  "subtotal",
  "total",
  "credits_applied",
  "credits_burned",
  "balance_applied",
  "taxable_amount",
  "tax_total",
  "amount_due",
] as const;

function amountParams(i: Invoice): unknown[] {
  return [
    i.nominalPeriod?.start ?? null,
    i.nominalPeriod?.end ?? null,
    toJson(i.segments),
    toJson(i.lines),
    toJson(i.taxLines),
    i.taxExempt,
    i.subtotal.toFixed(),
    i.total.toFixed(),
    i.creditsApplied.toFixed(),
    i.creditsBurned.toFixed(),
    i.balanceApplied.toFixed(),
    i.taxableAmount.toFixed(),
    i.taxTotal.toFixed(),
    i.amountDue.toFixed(),
  ];
}

/** Column → SQL type of a draft row, for jsonb_to_recordset. */
const DRAFT_COLUMNS: [string, string][] = [
  ["id", "text"],
  ["customer_id", "text"],
  ["subscription_id", "text"],
  ["status", "text"],
  ["currency", "text"],
  ["customer_name", "text"],
  ["period_start", "timestamptz"],
  ["period_end", "timestamptz"],
  ["sequence_prefix", "text"],
  ["create_time", "timestamptz"],
  ["finalize_after", "timestamptz"],
  ["nominal_period_start", "timestamptz"],
  ["nominal_period_end", "timestamptz"],
  ["segments", "jsonb"],
  ["lines", "jsonb"],
  ["tax_lines", "jsonb"],
  ["tax_exempt", "boolean"],
  ["subtotal", "numeric"],
  ["total", "numeric"],
  ["credits_applied", "numeric"],
  ["credits_burned", "numeric"],
  ["balance_applied", "numeric"],
  ["taxable_amount", "numeric"],
  ["tax_total", "numeric"],
  ["amount_due", "numeric"],
  ["traceparent", "text"],
];

const draftRow = (i: Invoice) => ({
  id: i.id,
  customer_id: i.customerId,
  subscription_id: i.subscriptionId,
  status: i.status,
  currency: i.currency,
  customer_name: i.customerName,
  period_start: i.period.start,
  period_end: i.period.end,
  sequence_prefix: i.sequencePrefix,
  create_time: i.createTime,
  finalize_after: i.finalizeAfter,
  nominal_period_start: i.nominalPeriod?.start ?? null,
  nominal_period_end: i.nominalPeriod?.end ?? null,
  segments: i.segments,
  lines: i.lines,
  tax_lines: i.taxLines,
  tax_exempt: i.taxExempt,
  subtotal: i.subtotal,
  total: i.total,
  credits_applied: i.creditsApplied,
  credits_burned: i.creditsBurned,
  balance_applied: i.balanceApplied,
  taxable_amount: i.taxableAmount,
  tax_total: i.taxTotal,
  amount_due: i.amountDue,
  // The close runs inside a trace (the calling rpc's, or the timer's own cycle trace).
  traceparent: i.traceparent ?? currentTraceparent() ?? null,
});

/**
 * Inserts drafts, one statement for the batch, skipping any whose (subscription, period) already
 * has an invoice: the unique constraint decides, so concurrent closers, retries and redeliveries
 * leave exactly one. Returns the ids this call inserted.
 */
export async function insertDrafts(db: Db, drafts: Invoice[]): Promise<Set<string>> {
  if (drafts.length === 0) return new Set();
  const names = DRAFT_COLUMNS.map(([c]) => c).join(", ");
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO invoices (${names}) SELECT ${names} FROM jsonb_to_recordset($1::jsonb) AS r(${DRAFT_COLUMNS.map(([c, t]) => `${c} ${t}`).join(", ")})
     ON CONFLICT (subscription_id, period_start) DO NOTHING RETURNING id`,
    [toJson(drafts.map(draftRow))],
  );
  return new Set(rows.map((r) => r.id));
}

/** Rewrites a draft's lines and amounts (late usage within grace); only while it is a draft. */
export async function updateDraftAmounts(db: Db, i: Invoice): Promise<void> {
  await db.query(
    `UPDATE invoices SET ${AMOUNT_COLUMNS.map((c, n) => `${c} = $${n + 2}`).join(", ")}, stale = false WHERE id = $1 AND status = 'draft'`,
    [i.id, ...amountParams(i)],
  );
}

/**
 * Stores finalized invoices (amounts as re-priced, number, times), one statement per kind. Those
 * whose lines did not change since the draft (`linesUnchanged`) are written without their lines
 * and segments: the largest part of an invoice row, already stored.
 */
export async function markFinalized(db: Db, invoices: (Invoice & { sequenceNumber: number; linesUnchanged: boolean })[]): Promise<void> {
  await writeFinalized(db, invoices.filter((i) => !i.linesUnchanged), true);
  await writeFinalized(db, invoices.filter((i) => i.linesUnchanged), false);
}

async function writeFinalized(db: Db, invoices: (Invoice & { sequenceNumber: number })[], withLines: boolean): Promise<void> {
  if (invoices.length === 0) return;
  const rows = invoices.map((i) => {
    const { segments, lines, ...rest } = draftRow(i);
    return { ...rest, ...(withLines ? { segments, lines } : {}), number: i.number, sequence_number: i.sequenceNumber, finalize_time: i.finalizeTime, due_time: i.dueTime };
  });
  const kept = (c: string) => (AMOUNT_COLUMNS.includes(c as never) || c === "id") && (withLines || (c !== "segments" && c !== "lines"));
  const types: [string, string][] = [...DRAFT_COLUMNS.filter(([c]) => kept(c)), ["number", "text"], ["sequence_number", "bigint"], ["finalize_time", "timestamptz"], ["due_time", "timestamptz"]];
  const sets = types.filter(([c]) => c !== "id").map(([c]) => `${c} = r.${c}`);
  await db.query(
    `UPDATE invoices i SET ${sets.join(", ")}, status = 'finalized', stale = false
     FROM jsonb_to_recordset($1::jsonb) AS r(${types.map(([c, t]) => `${c} ${t}`).join(", ")})
     WHERE i.id = r.id AND i.status = 'draft'`,
    [toJson(rows)],
  );
}

export async function setStatus(db: Db, i: Invoice): Promise<void> {
  await db.query(
    `UPDATE invoices SET status = $2, amount_paid = $3, amount_credited = $4, amount_refunded = $5, paid_time = $6, void_time = $7 WHERE id = $1`,
    [i.id, i.status, i.amountPaid.toFixed(), i.amountCredited.toFixed(), i.amountRefunded.toFixed(), i.paidTime, i.voidTime],
  );
}

export async function getInvoice(db: Db, id: string, forUpdate = false): Promise<Invoice | undefined> {
  const { rows } = await db.query<Row>(`SELECT * FROM invoices WHERE id = $1${forUpdate ? " FOR UPDATE" : ""}`, [id]);
  return rows[0] && toInvoice(rows[0]);
}

export async function getInvoiceFor(db: Db, subscriptionId: string, periodStart: Date): Promise<Invoice | undefined> {
  const { rows } = await db.query<Row>(`SELECT * FROM invoices WHERE subscription_id = $1 AND period_start = $2`, [subscriptionId, periodStart]);
  return rows[0] && toInvoice(rows[0]);
}

/**
 * Drafts to work on, locked, skipping ones another worker holds: those whose grace period is over
 * (`due`), or open ones that rating re-rated since they were built (`stale`). Each says whether
 * it is stale: a draft that is not still holds what rating has for its period.
 */
export async function claimDrafts(db: Db, which: "due" | "stale", now: Date, limit: number): Promise<(Invoice & { stale: boolean })[]> {
  const where = which === "due" ? "finalize_after <= $1" : "stale AND finalize_after > $1";
  const { rows } = await db.query<Row>(`SELECT * FROM invoices WHERE status = 'draft' AND ${where} ORDER BY finalize_after, id LIMIT $2 FOR UPDATE SKIP LOCKED`, [
    now,
    limit,
  ]);
  return rows.map((r) => ({ ...toInvoice(r), stale: r.stale }));
}

/**
 * Rating re-rated these periods: their drafts (if any) must be rebuilt before they are finalized;
 * their issued invoices (if any) looked at for late usage, billed on the next invoice.
 *
 * The subscriptions are locked first (in id order), so a period close in progress — which holds
 * its subscription's lock from before it reads rating until its draft is committed — finishes
 * first and its draft is marked here: usage rating committed after that read is never missed,
 * which is what lets finalization keep a draft that is not stale as it is.
 */
export async function markStale(db: Db, periods: { subscriptionId: string; periodStart: Date }[]): Promise<void> {
  if (periods.length === 0) return;
  await db.query(`SELECT 1 FROM subscriptions WHERE subscription_id = ANY($1) ORDER BY subscription_id FOR UPDATE`, [[...new Set(periods.map((p) => p.subscriptionId))]]);
  await db.query(
    `UPDATE invoices i SET stale = true FROM unnest($1::text[], $2::timestamptz[]) AS p(subscription_id, period_start)
     WHERE i.subscription_id = p.subscription_id AND i.period_start = p.period_start AND i.status <> 'void' AND NOT i.stale`,
    [periods.map((p) => p.subscriptionId), periods.map((p) => p.periodStart)],
  );
}

/** New late adjustments for these subscriptions: their open drafts are rebuilt to show them. */
export async function markDraftsStale(db: Db, subscriptionIds: string[]): Promise<void> {
  if (subscriptionIds.length === 0) return;
  await db.query(`UPDATE invoices SET stale = true WHERE subscription_id = ANY($1) AND status = 'draft' AND NOT stale`, [subscriptionIds]);
}

/**
 * Each subscription's latest issued period invoice, locked; one locked elsewhere (its late usage
 * being recorded) is skipped.
 */
export async function lastIssuedLocked(db: Db, subscriptionIds: string[]): Promise<Invoice[]> {
  if (subscriptionIds.length === 0) return [];
  const { rows } = await db.query<Row>(
    `SELECT * FROM invoices WHERE id IN (
       SELECT DISTINCT ON (subscription_id) id FROM invoices
        WHERE subscription_id = ANY($1) AND status IN ('finalized', 'paid', 'uncollectible') AND period_end > period_start
        ORDER BY subscription_id, period_start DESC)
     ORDER BY id FOR UPDATE SKIP LOCKED`,
    [subscriptionIds],
  );
  return rows.map(toInvoice);
}

/** Issued invoices whose period rating re-rated after finalization, locked (one worker computes each difference). */
export async function claimIssuedStale(db: Db, limit: number): Promise<Invoice[]> {
  const { rows } = await db.query<Row>(
    `SELECT * FROM invoices WHERE stale AND status IN ('finalized', 'paid', 'uncollectible') ORDER BY period_start, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows.map(toInvoice);
}

export async function clearStale(db: Db, ids: string[]): Promise<void> {
  await db.query(`UPDATE invoices SET stale = false WHERE id = ANY($1)`, [ids]);
}

export async function listInvoices(
  db: Db,
  f: { customerId: string; status: InvoiceStatus | undefined; after: { periodStart: Date; id: string } | undefined; limit: number },
): Promise<Invoice[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  if (f.customerId) where.push(`customer_id = $${values.push(f.customerId)}`);
  if (f.status) where.push(`status = $${values.push(f.status)}`);
  if (f.after) where.push(`(period_start, id) < ($${values.push(f.after.periodStart)}, $${values.push(f.after.id)})`);
  const { rows } = await db.query<Row>(
    `SELECT * FROM invoices ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY period_start DESC, id DESC LIMIT $${values.push(f.limit)}`,
    values,
  );
  return rows.map(toInvoice);
}

/** Finalized (or later) invoices whose period starts in [from, to), for reconciliation. */
export async function issuedInvoicesIn(db: Db, from: Date, to: Date): Promise<Invoice[]> {
  const { rows } = await db.query<Row>(
    `SELECT * FROM invoices WHERE period_start >= $1 AND period_start < $2 AND status <> 'draft' ORDER BY sequence_prefix, sequence_number`,
    [from, to],
  );
  return rows.map(toInvoice);
}

/**
 * Takes the next `count` numbers of a sequence under its row lock; returns the first. Called in the finalizing transaction: a
 * rollback (crash) returns the number, a commit keeps it forever; concurrent finalizers queue.
 */
export async function takeNumbers(db: Db, prefix: string, count: number): Promise<number> {
  const { rows } = await db.query<{ last_number: string }>(
    `INSERT INTO invoice_sequences (prefix, last_number) VALUES ($1, $2)
     ON CONFLICT (prefix) DO UPDATE SET last_number = invoice_sequences.last_number + $2 RETURNING last_number`,
    [prefix, count],
  );
  return Number(rows[0]!.last_number) - count + 1;
}

interface NoteRow {
  id: string;
  invoice_id: string;
  idempotency_key: string;
  amount: string;
  currency: string;
  reason: string;
  refund_due: string;
  balance_credited: string;
  create_time: Date;
}

const toNote = (r: NoteRow): CreditNote => ({
  id: r.id,
  invoiceId: r.invoice_id,
  idempotencyKey: r.idempotency_key,
  amount: D(r.amount),
  currency: r.currency,
  reason: r.reason,
  refundDue: D(r.refund_due),
  balanceCredited: D(r.balance_credited),
  createTime: r.create_time,
});

export async function getCreditNoteByKey(db: Db, key: string): Promise<CreditNote | undefined> {
  const { rows } = await db.query<NoteRow>(`SELECT * FROM credit_notes WHERE idempotency_key = $1`, [key]);
  return rows[0] && toNote(rows[0]);
}

export async function insertCreditNote(db: Db, n: CreditNote): Promise<void> {
  await db.query(
    `INSERT INTO credit_notes (id, invoice_id, idempotency_key, amount, currency, reason, refund_due, balance_credited, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [n.id, n.invoiceId, n.idempotencyKey, n.amount.toFixed(), n.currency, n.reason, n.refundDue.toFixed(), n.balanceCredited.toFixed(), n.createTime],
  );
}

/** Records a consumed event id; false if it was already applied (redelivery). */
export async function markEventApplied(db: Db, eventId: string): Promise<boolean> {
  const { rowCount } = await db.query(`INSERT INTO applied_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING`, [eventId]);
  return rowCount === 1;
}

/** (subscription, period) pairs holding more than one non-void invoice: the schema forbids it; reconciliation still looks. */
export async function duplicatePeriods(db: Db, from: Date, to: Date): Promise<{ subscriptionId: string; periodStart: Date; ids: string[] }[]> {
  const { rows } = await db.query<{ subscription_id: string; period_start: Date; ids: string[] }>(
    `SELECT subscription_id, period_start, array_agg(id ORDER BY id) AS ids FROM invoices
     WHERE status <> 'void' AND period_start >= $1 AND period_start < $2 GROUP BY 1, 2 HAVING count(*) > 1`,
    [from, to],
  );
  return rows.map((r) => ({ subscriptionId: r.subscription_id, periodStart: r.period_start, ids: r.ids }));
}

/** Every numbered invoice of these sequences. */
export async function numbered(db: Db, prefixes: string[]): Promise<{ id: string; number: string; prefix: string; sequence: number }[]> {
  const { rows } = await db.query<{ id: string; number: string; sequence_prefix: string; sequence_number: string }>(
    `SELECT id, number, sequence_prefix, sequence_number FROM invoices WHERE sequence_number IS NOT NULL AND sequence_prefix = ANY($1)`,
    [prefixes],
  );
  return rows.map((r) => ({ id: r.id, number: r.number, prefix: r.sequence_prefix, sequence: Number(r.sequence_number) }));
}

export async function getCreditNote(db: Db, id: string): Promise<CreditNote | undefined> {
  const { rows } = await db.query<NoteRow>(`SELECT * FROM credit_notes WHERE id = $1`, [id]);
  return rows[0] && toNote(rows[0]);
}

/** An invoice's credit notes in issue order (time, then id): the order their numbers follow. */
export async function listCreditNotes(db: Db, invoiceId: string): Promise<CreditNote[]> {
  const { rows } = await db.query<NoteRow>(`SELECT * FROM credit_notes WHERE invoice_id = $1 ORDER BY create_time, id`, [invoiceId]);
  return rows.map(toNote);
}
