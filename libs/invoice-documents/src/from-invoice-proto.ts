import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { invoicing } from "@tally/contracts";
import type { DateRange, DocumentLineKind, InvoiceDocument, InvoiceDocumentStatus, Party } from "./invoice-document";

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
 * The contract's lines carry no pricing steps today, so `tiers` stays empty; taxes are not in the
 * contract either (total = rounded subtotal), so the document prints none.
 */
export function invoiceDocumentFromProto(invoice: invoicing.Invoice, parties: { issuer: Party; customer: Party; timeZone?: string }): InvoiceDocument {
  const period = range(invoice.period, "invoice.period");
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
      tiers: [],
    })),
    subtotal: invoice.total,
    taxes: [],
    total: invoice.total,
    creditsApplied: invoice.creditsApplied || "0",
    amountDue: invoice.amountDue,
  };
}

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
