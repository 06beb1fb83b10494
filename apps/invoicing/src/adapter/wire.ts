import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { invoicing as pb } from "@tally/contracts";
import { type Decimal, minorUnitDigits } from "@tally/pricing";
import { toLine, type LateAdjustment } from "../domain/late-usage";
import type { CreditNoteBreakdown } from "../domain/credit-note-breakdown";
import type { CreditNote, Customer, Invoice, InvoiceStatus, LineKind, Period } from "../domain/types";

export const ts = (d: Date): Timestamp => timestampFromDate(d);
const opt = (d: Date | null) => (d ? ts(d) : undefined);
const range = (p: Period) => ({ start: ts(p.start), end: ts(p.end) });
/** Rounded money at the currency's exponent, e.g. "33.30" for USD, "301" for JPY. */
const money = (d: Decimal, currency: string) => d.toFixed(minorUnitDigits(currency));

export const STATUS_TO_WIRE: Record<InvoiceStatus, pb.InvoiceStatus> = {
  draft: pb.InvoiceStatus.DRAFT,
  finalized: pb.InvoiceStatus.FINALIZED,
  paid: pb.InvoiceStatus.PAID,
  void: pb.InvoiceStatus.VOID,
  uncollectible: pb.InvoiceStatus.UNCOLLECTIBLE,
};

export function lateAdjustmentToWire(a: LateAdjustment): MessageInitShape<typeof pb.LateAdjustmentSchema> {
  const l = toLine(a);
  return {
    id: a.id,
    customerId: a.customerId,
    subscriptionId: a.subscriptionId,
    sourceInvoiceId: a.sourceInvoiceId,
    line: { ref: l.ref, kind: KIND[l.kind], componentKey: l.componentKey, dimensionValue: l.dimensionValue, description: l.description, quantity: l.quantity.toFixed(), amount: l.amount.toFixed(), period: range(l.period) },
  };
}

export function statusFromWire(s: pb.InvoiceStatus): InvoiceStatus | undefined {
  return (Object.keys(STATUS_TO_WIRE) as InvoiceStatus[]).find((k) => STATUS_TO_WIRE[k] === s);
}

const KIND: Record<LineKind, pb.LineKind> = {
  recurring_fee: pb.LineKind.RECURRING_FEE,
  usage: pb.LineKind.USAGE,
  minimum_true_up: pb.LineKind.MINIMUM_TRUE_UP,
  maximum_adjustment: pb.LineKind.MAXIMUM_ADJUSTMENT,
  late_usage_adjustment: pb.LineKind.LATE_USAGE_ADJUSTMENT,
};

export function invoiceToWire(i: Invoice): MessageInitShape<typeof pb.InvoiceSchema> {
  const c = i.currency;
  return {
    id: i.id,
    number: i.number,
    customerId: i.customerId,
    subscriptionId: i.subscriptionId,
    status: STATUS_TO_WIRE[i.status],
    currency: c,
    period: range(i.period),
    segments: i.segments.map((s) => ({ planKey: s.planKey, planVersion: s.planVersion, range: range(s.range), fraction: s.fraction.toFixed() })),
    lines: i.lines.map((l) => ({
      ref: l.ref,
      kind: KIND[l.kind],
      componentKey: l.componentKey,
      dimensionValue: l.dimensionValue,
      description: l.description,
      quantity: l.quantity.toFixed(),
      amount: l.amount.toFixed(),
      roundedAmount: money(l.roundedAmount, c),
      period: range(l.period),
      details: l.details,
    })),
    subtotal: i.subtotal.toFixed(),
    total: money(i.total, c),
    creditsApplied: money(i.creditsApplied, c),
    amountDue: money(i.amountDue, c),
    createTime: ts(i.createTime),
    finalizeTime: opt(i.finalizeTime),
    dueTime: opt(i.dueTime),
    paidTime: opt(i.paidTime),
    voidTime: opt(i.voidTime),
    balanceApplied: money(i.balanceApplied, c),
    taxableAmount: money(i.taxableAmount, c),
    taxLines: i.taxLines.map((t) => ({ name: t.name, percent: t.percent.toFixed(), taxableAmount: money(t.taxableAmount, c), amount: money(t.amount, c) })),
    taxTotal: money(i.taxTotal, c),
    amountPaid: money(i.amountPaid, c),
    amountCredited: money(i.amountCredited, c),
    customerName: i.customerName,
    taxExempt: i.taxExempt,
  };
}

export function customerToWire(c: Customer): MessageInitShape<typeof pb.CustomerSchema> {
  return {
    customerId: c.customerId,
    legalName: c.legalName,
    email: c.email,
    billingAddress: c.billingAddress,
    currency: c.currency,
    timeZone: c.timeZone,
    gracePeriod: { seconds: BigInt(Math.floor(c.graceMs / 1000)), nanos: (c.graceMs % 1000) * 1_000_000 },
    netTermsDays: c.netTermsDays,
    taxRates: c.taxRates.map((t) => ({ name: t.name, percent: t.percent.toFixed() })),
    taxExempt: c.taxExempt,
    invoicePrefix: c.invoicePrefix,
    balance: money(c.balance, c.currency),
    createTime: ts(c.createTime),
    updateTime: ts(c.updateTime),
  };
}

/** A credit note; with its invoice and breakdown (GetCreditNote, ListCreditNotes), also its number and what it credits. */
export function creditNoteToWire(n: CreditNote, described?: { invoice: Invoice; breakdown: CreditNoteBreakdown }): MessageInitShape<typeof pb.CreditNoteSchema> {
  const c = n.currency;
  const b = described?.breakdown;
  return {
    ...(described && b
      ? {
          number: b.number,
          invoiceNumber: described.invoice.number,
          netAmount: money(b.netAmount, c),
          lines: b.lines.map((l) => ({ ref: l.ref, description: l.description, amount: money(l.amount, c), invoiceAmount: money(l.invoiceAmount, c) })),
          taxLines: b.taxLines.map((t) => ({ name: t.name, percent: t.percent.toFixed(), taxableAmount: money(t.taxableAmount, c), amount: money(t.amount, c) })),
        }
      : {}),
    id: n.id,
    invoiceId: n.invoiceId,
    amount: { currency: n.currency, amount: money(n.amount, n.currency) },
    reason: n.reason,
    createTime: ts(n.createTime),
    refundDue: { currency: n.currency, amount: money(n.refundDue, n.currency) },
    balanceCredited: { currency: n.currency, amount: money(n.balanceCredited, n.currency) },
  };
}
