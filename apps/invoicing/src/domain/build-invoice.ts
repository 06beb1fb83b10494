import { Decimal } from "@tally/pricing";
import { invoiceAmounts } from "./invoice-amounts";
import { isLateCredit, toLine, type LateAdjustment } from "./late-usage";
import type { Customer, Invoice, PricedPeriod } from "./types";

export interface BuildInputs {
  /** Rating's answer for the period: lines, and each segment's plan version and share. */
  priced: PricedPeriod;
  customer: Customer;
  /** Precise credit limits' ledger burned for this invoice's own period. */
  creditsBurned: Decimal;
  /** 0 for a draft: the balance is applied when the invoice is finalized. */
  balanceAvailable: Decimal;
  /**
   * Late usage of earlier, finalized periods that this invoice bills, and the credit limits burned
   * for it after those invoices were issued (`late_credit`: applied here as credit, not a line).
   */
  adjustments: readonly LateAdjustment[];
}

/**
 * Lines, segments and money of an invoice for a priced period (a new draft, or a draft refreshed).
 * Segments, with their plan versions, come from the same rating answer as the lines, never from
 * invoicing's copy of the subscription: a plan change just before a period closes may not have
 * reached that copy yet (subscription.changed in flight), and the invoice would name the old plan
 * for amounts priced with the new one.
 */
export function priceInvoice(base: Invoice, i: BuildInputs): Invoice {
  const taken = billedAdjustments(i.adjustments, i.priced.currency);
  const lines = [...i.priced.lines, ...taken.filter((a) => !isLateCredit(a)).map(toLine)];
  const lateCredits = taken.filter(isLateCredit).reduce((s, a) => s.plus(a.amount), new Decimal(0));
  const a = invoiceAmounts({
    currency: i.priced.currency,
    lineAmounts: lines.map((l) => l.amount),
    creditsBurned: i.creditsBurned.plus(lateCredits),
    balanceAvailable: i.balanceAvailable,
    taxRates: i.customer.taxRates,
    taxExempt: i.customer.taxExempt,
  });
  return {
    ...base,
    currency: i.priced.currency,
    nominalPeriod: i.priced.nominalPeriod ?? base.nominalPeriod,
    segments: i.priced.segments,
    lines: lines.map((l, n) => ({ ...l, roundedAmount: a.roundedLines[n]! })),
    subtotal: a.subtotal,
    total: a.total,
    creditsApplied: a.creditsApplied,
    creditsBurned: i.creditsBurned,
    balanceApplied: a.balanceApplied,
    taxableAmount: a.taxableAmount,
    taxLines: a.taxLines,
    taxTotal: a.taxTotal,
    taxExempt: i.customer.taxExempt,
    amountDue: a.amountDue,
  };
}

/** The adjustments an invoice in `currency` takes (lines, and late credits). */
export function billedAdjustments(adjustments: readonly LateAdjustment[], currency: string): LateAdjustment[] {
  return adjustments.filter((a) => a.currency === currency);
}

/**
 * The "period" of a subscription's final adjustments invoice: an instant, [at, at). Late usage
 * recorded after a subscription's last invoice (canceled: no next period), or released by a
 * voided invoice with no next invoice to take it, is billed on an invoice of its own, which has
 * no period of service and no lines but the adjustments. A period invoice always has end > start,
 * so the empty range is what marks one (and keeps it unique per instant).
 */
export function adjustmentsOnlyPeriod(subscriptionId: string, customerId: string, currency: string, at: Date): PricedPeriod {
  return { subscriptionId, customerId, currency, period: { start: at, end: at }, segments: [], lines: [] };
}

export function isAdjustmentsOnly(i: Pick<Invoice, "period">): boolean {
  return i.period.start.getTime() === i.period.end.getTime();
}

/** A new DRAFT for a closed period; it stays open for the customer's grace period. */
export function newDraft(id: string, now: Date, i: BuildInputs): Invoice {
  const zero = new Decimal(0);
  const base: Invoice = {
    id,
    number: "",
    customerId: i.priced.customerId,
    subscriptionId: i.priced.subscriptionId,
    status: "draft",
    currency: i.priced.currency,
    customerName: i.customer.legalName,
    period: i.priced.period,
    segments: [],
    lines: [],
    subtotal: zero,
    total: zero,
    creditsApplied: zero,
    creditsBurned: zero,
    balanceApplied: zero,
    taxableAmount: zero,
    taxLines: [],
    taxTotal: zero,
    taxExempt: i.customer.taxExempt,
    amountDue: zero,
    amountPaid: zero,
    amountCredited: zero,
    amountRefunded: zero,
    sequencePrefix: i.customer.invoicePrefix,
    createTime: now,
    finalizeAfter: new Date(Math.max(now.getTime(), i.priced.period.end.getTime() + i.customer.graceMs)),
    finalizeTime: null,
    dueTime: null,
    paidTime: null,
    voidTime: null,
  };
  return priceInvoice(base, i);
}

/** Freezes a draft: its number and due date (net terms from finalization). */
export function finalize(i: Invoice, sequenceNumber: number, now: Date, netTermsDays: number): Invoice {
  return {
    ...i,
    status: "finalized",
    number: formatNumber(i.sequencePrefix, sequenceNumber),
    finalizeTime: now,
    dueTime: new Date(now.getTime() + netTermsDays * 24 * 3600_000),
  };
}

/** "TLY-000042": the prefix names the issuing sequence, the number is its position in it. */
export function formatNumber(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(6, "0")}`;
}
