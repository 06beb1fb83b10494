import type { Decimal } from "@tally/pricing";
import type { TaxLine, TaxRate } from "./invoice-amounts";

export interface Period {
  start: Date;
  end: Date;
}

export interface Address {
  line1: string;
  line2: string;
  city: string;
  postalCode: string;
  region: string;
  country: string;
}

export interface Customer {
  customerId: string;
  legalName: string;
  email: string;
  billingAddress: Address;
  currency: string;
  timeZone: string;
  graceMs: number;
  netTermsDays: number;
  taxRates: TaxRate[];
  taxExempt: boolean;
  invoicePrefix: string;
  balance: Decimal;
  createTime: Date;
  updateTime: Date;
}

export type LineKind = "recurring_fee" | "usage" | "minimum_true_up" | "maximum_adjustment" | "late_usage_adjustment";

/** One tier step of a usage line, as rating priced it (decimal strings kept as sent). */
export interface LineDetail {
  ref: string;
  tierIndex: number;
  lowerBound: string;
  upperBound: string;
  quantity: string;
  unitAmount: string;
  flatAmount: string;
  subtotal: string;
  included: boolean;
}

export interface InvoiceLine {
  ref: string;
  kind: LineKind;
  componentKey: string;
  dimensionValue: string;
  description: string;
  quantity: Decimal;
  amount: Decimal;
  roundedAmount: Decimal;
  period: Period;
  details: LineDetail[];
}

/** A plan segment of an invoice's period, as rating priced it. */
export interface Segment {
  planKey: string;
  planVersion: number;
  range: Period;
  /** The segment's share of the NOMINAL period (rating's InvoicePreviewSegment.share). */
  fraction: Decimal;
}

export type InvoiceStatus = "draft" | "finalized" | "paid" | "void" | "uncollectible";

export interface Invoice {
  id: string;
  number: string;
  customerId: string;
  subscriptionId: string;
  status: InvoiceStatus;
  currency: string;
  customerName: string;
  period: Period;
  /**
   * The whole billing period `period` belongs to (rating's InvoicePreview.nominal_period): fees
   * and commitments of a partial period (first CALENDAR period, canceled mid-period) are prorated
   * against its length. Undefined: the period itself (invoices priced before rating reported it,
   * and final adjustments invoices).
   */
  nominalPeriod?: Period;
  segments: Segment[];
  lines: InvoiceLine[];
  subtotal: Decimal;
  total: Decimal;
  creditsApplied: Decimal;
  /**
   * Precise credit limits' ledger had burned for this invoice's own period when it was last priced
   * (creditsApplied is it plus late credits taken, rounded once and capped at the total). Burns
   * recorded after finalization become `late_credit` adjustments for the next invoice.
   */
  creditsBurned: Decimal;
  balanceApplied: Decimal;
  taxableAmount: Decimal;
  taxLines: TaxLine[];
  taxTotal: Decimal;
  taxExempt: boolean;
  amountDue: Decimal;
  amountPaid: Decimal;
  amountCredited: Decimal;
  amountRefunded: Decimal;
  sequencePrefix: string;
  createTime: Date;
  finalizeAfter: Date;
  finalizeTime: Date | null;
  dueTime: Date | null;
  paidTime: Date | null;
  voidTime: Date | null;
  /** W3C trace context of the period close that created it; InvoiceFinalized continues it. */
  traceparent?: string;
}

export interface CreditNote {
  id: string;
  invoiceId: string;
  idempotencyKey: string;
  amount: Decimal;
  currency: string;
  reason: string;
  refundDue: Decimal;
  balanceCredited: Decimal;
  createTime: Date;
}

/** A period priced by rating, before credits, balance and taxes. */
export interface PricedPeriod {
  subscriptionId: string;
  customerId: string;
  currency: string;
  period: Period;
  /** See Invoice.nominalPeriod. */
  nominalPeriod?: Period;
  segments: Segment[];
  lines: Omit<InvoiceLine, "roundedAmount">[];
}
