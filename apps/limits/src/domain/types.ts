import type { Decimal } from "@tally/pricing";

/**
 * The limits domain's own vocabulary: plain data, no protobuf, no SQL. The rpc
 * layer maps the wire messages to these; the adapter maps rows.
 */

export type LimitKind = "hard_cap" | "soft_limit";
export type LimitMeasure = "units" | "spend";

/** Who a limit applies to: every customer of a plan (default) or one customer (override). */
export type LimitScope = { planKey: string } | { customerId: string };

/** One alert level: a percentage of the limit value, or an absolute level in its measure. */
export type AlertThreshold = { percent: Decimal } | { absolute: Decimal };

/** A stored limit: a validated one with its id. */
export interface Limit extends ValidLimit {
  id: string;
}

export interface ValidLimit {
  scope: LimitScope;
  /** '' only for a SPEND limit on the customer's total spend. */
  meterKey: string;
  kind: LimitKind;
  measure: LimitMeasure;
  value: Decimal;
  /** ISO 4217 for SPEND; '' for UNITS. */
  currency: string;
  alerts: AlertThreshold[];
}

/** A billing period, [start, end), as rating announced it. */
export interface Period {
  start: Date;
  end: Date | null;
}

export type SubscriptionStatus = "pending" | "active" | "canceled";

/** What limits knows about one customer: subscription snapshot plus credit settings. */
export interface CustomerState {
  customerId: string;
  subscriptionId: string | null;
  planKey: string | null;
  planVersion: number | null;
  status: SubscriptionStatus | null;
  period: Period | null;
  revision: bigint;
  prepaidOnly: boolean;
  depleted: boolean;
}

export type ReservationStatus = "active" | "committed" | "released" | "settled" | "expired";

export interface Reservation {
  id: string;
  customerId: string;
  meterKey: string;
  periodStart: Date;
  /** Held quantity: the checked one, or the actual one once committed. */
  quantity: Decimal;
  /** Spend the hold stands for, priced with the plan when checked. */
  cost: Decimal;
  /** Part of a committed hold already covered by rated usage. */
  settled: Decimal;
  status: ReservationStatus;
  createTime: Date;
  expireTime: Date;
}

export type GrantStatus = "pending" | "active" | "depleted" | "expired" | "voided";

/** A grant as validated, before it is stored. */
export interface ValidGrant {
  customerId: string;
  currency: string;
  amount: Decimal;
  /** Display only: the amount in credits, '' when not sold as credits. */
  credits: string;
  creditRate: string;
  priority: number;
  effectiveTime: Date;
  expireTime: Date | null;
  idempotencyKey: string;
  description: string;
}

export interface CreditGrant extends ValidGrant {
  id: string;
  remaining: Decimal;
  /** Whether the GRANT ledger entry was written (the grant became effective). */
  credited: boolean;
  closed: "expired" | "voided" | null;
  createTime: Date;
  voidTime: Date | null;
  voidReason: string;
}

export type LedgerEntryKind = "grant" | "burn" | "expiry" | "void";

export interface LedgerEntry {
  id: string;
  customerId: string;
  grantId: string;
  kind: LedgerEntryKind;
  /** Signed: grants positive; burns, expiries and voids negative; a burn reversal positive. */
  amount: Decimal;
  currency: string;
  createTime: Date;
  sourceRef: string;
  balanceAfter: Decimal;
}

export interface TriggeredAlert {
  id: string;
  limitId: string;
  customerId: string;
  threshold: AlertThreshold;
  observedValue: Decimal;
  period: Period;
  triggerTime: Date;
  meterKey: string;
  measure: LimitMeasure;
  kind: LimitKind;
  limitValue: Decimal;
  thresholdValue: Decimal;
  currency: string;
}

export type DenyReason = "hard_cap_exceeded" | "credits_exhausted" | "no_subscription" | "invoice_uncollectible";
