import { Decimal } from "@tally/pricing";
import type { InvoiceState } from "./invoice";

/** What becomes of a refund when it is asked for, or when the payment it waited for settles. */
export type RefundDecision = { status: "pending"; failureCode: "" } | { status: "waiting"; failureCode: "" } | { status: "failed"; failureCode: RefundFailure };

export type RefundFailure = "refund_exceeds_paid" | "nothing_paid";

const PENDING = { status: "pending", failureCode: "" } as const;
const WAITING = { status: "waiting", failureCode: "" } as const;
const fail = (failureCode: RefundFailure) => ({ status: "failed", failureCode }) as const;

/**
 * A credit note's refund, as the invoice stands here. Money already recorded as paid is refunded
 * (never beyond it, counting refunds sent or done). Nothing recorded yet, but a payment may still
 * be: the invoice is owed (open, uncollectible) or has an attempt in flight (a PaymentIntent that
 * succeeded at the provider whose response or webhook is still to come) — the refund waits for it
 * rather than being refused and lost. Only a voided invoice with nothing in flight can never be
 * paid: there is nothing to return.
 */
export function admitRefund(invoice: { state: InvoiceState; amountPaid: string }, committed: Decimal, amount: string, paymentInFlight: boolean): RefundDecision {
  const paid = new Decimal(invoice.amountPaid);
  if (paid.gt(0)) return committed.plus(amount).gt(paid) ? fail("refund_exceeds_paid") : PENDING;
  if (invoice.state === "open" || invoice.state === "uncollectible" || paymentInFlight) return WAITING;
  return fail("nothing_paid");
}

/**
 * The payment an invoice's waiting refunds were waiting for is recorded (`paid`, with `committed`
 * already refunded or being refunded): they go out oldest first while they fit, the rest fail.
 */
export function releaseWaiting(paid: Decimal, committed: Decimal, waiting: { id: string; amount: string }[]): ({ id: string } & RefundDecision)[] {
  let running = committed;
  return waiting.map((r) => {
    if (running.plus(r.amount).gt(paid)) return { id: r.id, ...fail("refund_exceeds_paid") };
    running = running.plus(r.amount);
    return { id: r.id, ...PENDING };
  });
}

/** What a voided invoice's payment leaves to return once its credit notes' refunds are counted. */
export function voidRefundAmount(paid: Decimal, committed: Decimal): Decimal {
  return Decimal.max(paid.minus(committed), 0);
}

/** Derived from what the refund is for, so a replay after a crash or a lost answer repeats it, never doubles it. */
export function refundIdempotencyKey(r: { id: string; reason: "credit_note" | "invoice_voided"; creditNoteId: string }): string {
  return r.reason === "credit_note" ? `tally:refund:${r.creditNoteId}` : `tally:refund:${r.id}`;
}

export const voidRefundId = (attemptId: string) => `rfd_void_${attemptId}`;
