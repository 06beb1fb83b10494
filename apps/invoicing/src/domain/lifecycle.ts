import { Violations } from "@tally/platform";
import { Decimal, DecimalFormatError, minorUnitDigits, parseDecimal } from "@tally/pricing";
import { InvoiceStateError } from "./errors";
import type { CreditNote, Invoice } from "./types";

/**
 * Invoice state changes after the draft: pure functions that either return the invoice as it
 * becomes or throw FAILED_PRECONDITION naming the state that forbids the change.
 *
 *   DRAFT → FINALIZED → PAID
 *     ↘       ↓   ↘ UNCOLLECTIBLE → PAID
 *      VOID ← ┘
 */

export function voidInvoice(i: Invoice, now: Date): Invoice {
  if (i.status === "void") return i;
  if (i.status !== "draft" && i.status !== "finalized" && i.status !== "uncollectible") throw new InvoiceStateError(i.id, i.status, "void it (issue a credit note instead)");
  if (i.amountPaid.gt(0)) throw new InvoiceStateError(i.id, `${i.status} and partly paid`, "void it (issue a credit note instead)");
  return { ...i, status: "void", voidTime: now };
}

/** Payments collected `amount` (PaymentSucceeded): PAID once nothing is left to pay. */
export function applyPayment(i: Invoice, amount: Decimal, now: Date): Invoice {
  if (i.status === "paid") return i;
  if (i.status !== "finalized" && i.status !== "uncollectible") throw new InvoiceStateError(i.id, i.status, "apply a payment");
  const owed = i.amountDue.minus(i.amountCredited).minus(i.amountPaid);
  const paid = i.amountPaid.plus(Decimal.min(amount, owed));
  const settled = paid.plus(i.amountCredited).gte(i.amountDue);
  return { ...i, amountPaid: paid, status: settled ? "paid" : i.status, paidTime: settled ? now : i.paidTime };
}

export function markUncollectible(i: Invoice): Invoice {
  if (i.status === "uncollectible") return i;
  if (i.status !== "finalized") throw new InvoiceStateError(i.id, i.status, "mark it uncollectible");
  return { ...i, status: "uncollectible" };
}

export interface CreditNoteRequest {
  amount: string;
  currency: string;
  reason: string;
  idempotencyKey: string;
  creditToBalance: boolean;
}

/** Checks the request's own fields (INVALID_ARGUMENT, all at once) before the invoice is looked at. */
export function validateCreditNoteRequest(r: CreditNoteRequest & { invoiceId: string }): void {
  const v = new Violations();
  if (!r.invoiceId) v.add("invoice_id", "is required");
  if (r.idempotencyKey.length < 1 || r.idempotencyKey.length > 255) v.add("idempotency_key", "must be 1–255 characters");
  if (r.reason.trim().length < 1 || r.reason.length > 1024) v.add("reason", "must be 1–1024 characters");
  if (!r.currency) v.add("amount.currency", "is required");
  try {
    if (!parseDecimal(r.amount, "amount.amount").gt(0)) v.add("amount.amount", `must be > 0, got ${r.amount}`);
  } catch (err) {
    if (!(err instanceof DecimalFormatError)) throw err;
    v.add("amount.amount", err.message.replace("amount.amount: ", ""), err.code);
  }
  v.throwIfAny();
}

/**
 * A credit note on a FINALIZED, UNCOLLECTIBLE or PAID invoice, never beyond what is left
 * (amount due − earlier credit notes). On a PAID invoice the money goes back: as a refund owed
 * (payments carries it out) or, if asked, to the customer's balance.
 */
export function issueCreditNote(i: Invoice, r: CreditNoteRequest, id: string, now: Date): { invoice: Invoice; note: CreditNote } {
  if (i.status !== "finalized" && i.status !== "uncollectible" && i.status !== "paid") throw new InvoiceStateError(i.id, i.status, "credit it");
  const v = new Violations();
  if (r.currency !== i.currency) v.add("amount.currency", `must be the invoice currency ${i.currency}, got ${JSON.stringify(r.currency)}`, "currency_mismatch");
  const amount = new Decimal(r.amount);
  const digits = minorUnitDigits(i.currency);
  if (amount.decimalPlaces() > digits) v.add("amount.amount", `has more than ${digits} decimal places for ${i.currency}`, "too_many_decimal_places");
  const left = i.amountDue.minus(i.amountCredited);
  if (amount.gt(left)) v.add("amount.amount", `exceeds what is left to credit on ${i.id}: ${left.toFixed(digits)} ${i.currency}`, "exceeds_creditable");
  v.throwIfAny();
  // Money already received that this credit note gives back; the rest only lowers what is owed.
  const unpaidLeft = Decimal.max(0, i.amountDue.minus(i.amountCredited).minus(i.amountPaid));
  const givenBack = Decimal.max(0, amount.minus(unpaidLeft));
  const toBalance = r.creditToBalance ? givenBack : new Decimal(0);
  const note: CreditNote = {
    id,
    invoiceId: i.id,
    idempotencyKey: r.idempotencyKey,
    amount,
    currency: i.currency,
    reason: r.reason,
    refundDue: givenBack.minus(toBalance),
    balanceCredited: toBalance,
    createTime: now,
  };
  const credited = i.amountCredited.plus(amount);
  // amount_paid is what the customer's payments still count for: money given back leaves it, so
  // amount_paid + amount_credited never exceeds amount_due.
  const paid = i.amountPaid.minus(givenBack);
  // Fully credited before being paid: nothing is owed any more.
  const settled = i.status !== "paid" && credited.plus(paid).gte(i.amountDue);
  return { invoice: { ...i, amountCredited: credited, amountPaid: paid, status: settled ? "paid" : i.status, paidTime: settled ? now : i.paidTime }, note };
}

/** Whether a retried CreateCreditNote carries the same content as the note its key created. */
export function sameCreditNote(n: CreditNote, invoiceId: string, r: CreditNoteRequest): boolean {
  return n.invoiceId === invoiceId && n.amount.eq(r.amount) && n.currency === r.currency && n.reason === r.reason;
}
