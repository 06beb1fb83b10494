/**
 * What an invoice document shows, in domain terms (no proto): the figures are the invoicing
 * service's own, as decimal strings, and the renderers only format them — they never recompute
 * a total, so a document cannot disagree with the invoice it prints.
 */
export interface InvoiceDocument {
  /** Human-facing number; empty for a draft. */
  number: string;
  /** Lifecycle status as printed, e.g. "finalized". */
  status: InvoiceDocumentStatus;
  /** ISO 4217 code of every amount. */
  currency: string;
  /** IANA time zone dates are printed in; default UTC. */
  timeZone?: string;
  issueDate?: Date;
  dueDate?: Date;
  paidDate?: Date;
  /** Billing period, start inclusive, end exclusive. */
  period: DateRange;
  issuer: Party;
  customer: Party;
  /** Plan segments of the period; more than one means the period was prorated between plans. */
  segments: DocumentSegment[];
  lines: DocumentLine[];
  /** The rounded lines' sum: the invoice total before credits and taxes. */
  subtotal: string;
  /** Prepaid credits applied, >= 0. */
  creditsApplied: string;
  /** Subtotal minus credits, floored at 0: what the taxes are computed on. */
  taxableAmount: string;
  /** One per named rate of the customer's profile; empty when exempt or untaxed. */
  taxes: TaxLine[];
  /** The customer was tax exempt: the document says so instead of printing rates. */
  taxExempt: boolean;
  /** Customer balance (from earlier credit notes) applied, >= 0. */
  balanceApplied: string;
  /** What the invoice asks for: taxable amount + taxes - balance applied. */
  amountDue: string;
  /** Credit notes issued on this invoice so far, >= 0. */
  amountCredited: string;
  /** Paid so far, >= 0. */
  amountPaid: string;
  /** Amount due - paid - credited, floored at 0: what is still owed today. */
  outstanding: string;
}

export type InvoiceDocumentStatus = "draft" | "finalized" | "paid" | "void" | "uncollectible";

export interface DateRange {
  start: Date;
  end: Date;
}

export interface Party {
  name: string;
  /** Postal address, one line per entry. */
  address: string[];
  /** Reference such as a customer id or a VAT number, printed under the address. */
  reference?: string;
  email?: string;
}

export interface DocumentSegment {
  planKey: string;
  planVersion: number;
  range: DateRange;
  /** Decimal string: share of the period, e.g. "0.5". */
  fraction: string;
}

export type DocumentLineKind = "recurring_fee" | "usage" | "minimum_true_up" | "maximum_adjustment" | "late_usage_adjustment";

export interface DocumentLine {
  kind: DocumentLineKind;
  description: string;
  /** Decimal string; for a recurring fee the fraction of the period charged. */
  quantity: string;
  /** Decimal string rounded to the minor unit; the rounded lines add up to the subtotal. */
  amount: string;
  /** The plan segment the line belongs to. */
  period: DateRange;
  /** How a usage amount was computed, one step per tier touched. */
  tiers: TierStep[];
}

/** One pricing step: subtotal = quantity × unitAmount + flatAmount (all decimal strings, precise). */
export interface TierStep {
  /** 0-based tier index. */
  tierIndex: number;
  /** Exclusive lower bound; empty for non-tiered models. */
  lowerBound: string;
  /** Inclusive upper bound; empty when open-ended or non-tiered. */
  upperBound: string;
  quantity: string;
  unitAmount: string;
  flatAmount: string;
  subtotal: string;
  /** The free included units, priced at 0. */
  included: boolean;
}

export interface TaxLine {
  /** e.g. "VAT". */
  name: string;
  /** Decimal string percent, e.g. "20"; empty when the tax is not a rate. */
  ratePercent: string;
  /** Decimal string: the amount the rate applies to. */
  taxableAmount: string;
  /** Decimal string rounded to the minor unit. */
  amount: string;
}
