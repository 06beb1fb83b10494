import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { invoicing, type rating } from "@tally/contracts";
import { Decimal } from "@tally/pricing";
import type { DateRange, DocumentLineKind, InvoiceDocument, InvoiceDocumentStatus, Party, TierStep } from "./invoice-document";

const STATUS: Record<invoicing.InvoiceStatus, InvoiceDocumentStatus | undefined> = {
  [invoicing.InvoiceStatus.UNSPECIFIED]: undefined,
  [invoicing.InvoiceStatus.DRAFT]: "draft",
  [invoicing.InvoiceStatus.FINALIZED]: "finalized",
  [invoicing.InvoiceStatus.PAID]: "paid",
  [invoicing.InvoiceStatus.VOID]: "void",
  [invoicing.InvoiceStatus.UNCOLLECTIBLE]: "uncollectible",
};

const KIND: Record<invoicing.LineKind, DocumentLineKind | undefined> = {
  [invoicing.LineKind.UNSPECIFIED]: undefined,
  [invoicing.LineKind.RECURRING_FEE]: "recurring_fee",
  [invoicing.LineKind.USAGE]: "usage",
  [invoicing.LineKind.MINIMUM_TRUE_UP]: "minimum_true_up",
  [invoicing.LineKind.MAXIMUM_ADJUSTMENT]: "maximum_adjustment",
  [invoicing.LineKind.LATE_USAGE_ADJUSTMENT]: "late_usage_adjustment",
};

/**
 * Maps a tally.invoicing.v1.Invoice to the document input. Who issues and who pays are not part
 * of the invoice message, so the caller supplies both.
 *
 * Every figure is the invoice's own (rounded lines, credits, taxable amount, tax lines, balance,
 * amount due, paid, credited) except `outstanding`, which the contract does not carry: amount due
 * minus paid minus credited, floored at 0, in exact decimals.
 */
export function invoiceDocumentFromProto(invoice: invoicing.Invoice, parties: { issuer: Party; customer: Party; timeZone?: string }): InvoiceDocument {
  const period = range(invoice.period, "invoice.period");
  const amountDue = orZero(invoice.amountDue);
  const amountPaid = orZero(invoice.amountPaid);
  const amountCredited = orZero(invoice.amountCredited);
  return {
    number: invoice.number,
    status: required(STATUS[invoice.status], `invoice.status ${invoice.status}`),
    currency: invoice.currency,
    timeZone: parties.timeZone,
    issueDate: date(invoice.finalizeTime) ?? date(invoice.createTime),
    dueDate: date(invoice.dueTime),
    paidDate: date(invoice.paidTime),
    period,
    issuer: parties.issuer,
    customer: parties.customer,
    segments: invoice.segments.map((s, i) => ({
      planKey: s.planKey,
      planVersion: s.planVersion,
      range: range(s.range, `invoice.segments[${i}].range`),
      fraction: s.fraction,
    })),
    lines: invoice.lines.map((line, i) => ({
      kind: required(KIND[line.kind], `invoice.lines[${i}].kind ${line.kind}`),
      description: line.description,
      quantity: line.quantity,
      amount: line.roundedAmount,
      period: line.period ? range(line.period, `invoice.lines[${i}].period`) : period,
      tiers: line.details.map(tierStep),
    })),
    subtotal: invoice.total,
    creditsApplied: orZero(invoice.creditsApplied),
    // An invoice from before taxes were computed has no taxable amount: it is total - credits.
    taxableAmount: invoice.taxableAmount || Decimal.max(0, new Decimal(invoice.total || 0).minus(invoice.creditsApplied || 0)).toFixed(),
    taxes: invoice.taxLines.map((t) => ({ name: t.name, ratePercent: t.percent, taxableAmount: t.taxableAmount, amount: t.amount })),
    taxExempt: invoice.taxExempt,
    balanceApplied: orZero(invoice.balanceApplied),
    amountDue,
    amountCredited,
    amountPaid,
    outstanding: Decimal.max(0, new Decimal(amountDue).minus(amountPaid).minus(amountCredited)).toFixed(),
  };
}

function tierStep(d: rating.PriceLineDetail): TierStep {
  return {
    tierIndex: d.tierIndex,
    lowerBound: d.lowerBound,
    upperBound: d.upperBound,
    quantity: d.quantity,
    unitAmount: d.unitAmount,
    flatAmount: d.flatAmount || "0",
    subtotal: d.subtotal,
    included: d.included,
  };
}

const orZero = (value: string) => value || "0";
const date = (t: Timestamp | undefined): Date | undefined => (t ? timestampDate(t) : undefined);

function range(r: { start?: Timestamp; end?: Timestamp } | undefined, field: string): DateRange {
  const start = date(r?.start);
  const end = date(r?.end);
  if (!start || !end) throw new Error(`${field}: start and end are required to print an invoice`);
  return { start, end };
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} cannot be printed`);
  return value;
}
