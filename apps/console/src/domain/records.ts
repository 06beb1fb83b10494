/**
 * What the console reads from the services, in its own terms (decimal strings, Dates, plain
 * unions). The adapter maps the contracts to these; nothing above it sees proto.
 */

export interface DateRange {
  start: Date;
  end: Date;
}

export interface SubscriptionRecord {
  id: string;
  customerId: string;
  planKey: string;
  planVersion: number;
  status: "pending" | "active" | "canceled";
  timeZone: string;
  period: DateRange;
}

export interface ComponentUsageRecord {
  componentKey: string;
  meterKey: string;
  dimensionValue: string;
  planKey: string;
  planVersion: number;
  quantity: string;
  billableQuantity: string;
  tierIndex: number;
  tierLowerBound: string;
  /** Empty when the tier is open-ended (or the model has no tiers). */
  tierUpperBound: string;
  /** Empty in the last tier. */
  unitsToNextTier: string;
  amount: string;
  currency: string;
}

export interface CurrentUsageRecord {
  subscriptionId: string;
  period: DateRange;
  components: ComponentUsageRecord[];
  asOf: Date;
}

export interface PreviewRecord {
  currency: string;
  subtotal: string;
  total: string;
}

export interface ForecastRecord {
  currency: string;
  amountToDate: string;
  projectedTotal: string;
  elapsedFraction: string;
}

export interface RevenueForecastRecord {
  currency: string;
  amountToDate: string;
  projectedTotal: string;
  subscriptionCount: number;
}

export interface MeterRecord {
  key: string;
  groupBy: string[];
  description: string;
}

export interface UsageRowRecord {
  windowStart: Date;
  group: Record<string, string>;
  value: string;
}

export interface BalanceRecord {
  currency: string;
  balance: string;
  available: string;
  depleted: boolean;
  prepaidOnly: boolean;
}

export interface LedgerRecord {
  time: Date;
  kind: "grant" | "burn" | "expiry" | "void";
  amount: string;
  balanceAfter: string;
}

export interface LimitRecord {
  id: string;
  meterKey: string;
  kind: "hard_cap" | "soft_limit";
  measure: "units" | "spend";
  value: string;
  currency: string;
}

export interface AlertRecord {
  id: string;
  limitId: string;
  meterKey: string;
  measure: "units" | "spend";
  kind: "hard_cap" | "soft_limit";
  threshold: string;
  thresholdValue: string;
  observedValue: string;
  limitValue: string;
  currency: string;
  time: Date;
}

export type InvoiceStatus = "draft" | "finalized" | "paid" | "void" | "uncollectible";

export interface InvoiceRecord {
  id: string;
  number: string;
  customerId: string;
  status: InvoiceStatus;
  currency: string;
  period: DateRange;
  total: string;
  amountDue: string;
  /** Sum of the credit notes issued on it ("0" when none). */
  amountCredited: string;
}

/** A credit note on an invoice (ListCreditNotes). */
export interface CreditNoteRecord {
  id: string;
  number: string;
  invoiceId: string;
  amount: string;
  currency: string;
  reason: string;
}

/** An invoice document as invoicing rendered it. */
export interface InvoiceDocumentFile {
  content: Buffer;
  contentType: string;
  fileName: string;
}

export interface PaymentRecord {
  id: string;
  invoiceId: string;
  customerId: string;
  currency: string;
  amount: string;
  status: "pending" | "succeeded" | "failed" | "canceled";
  failureCode: string;
  failureMessage: string;
  time: Date;
}
