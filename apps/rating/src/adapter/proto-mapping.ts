import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate, timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { type common, rating } from "@tally/contracts";
import { minorUnitDigits, roundToMinorUnit, toWire, type Decimal } from "@tally/pricing";
import type { Period } from "../domain/periods";
import type { InvoiceLineDraft, LineKind, SegmentInput } from "../domain/invoice-lines";
import { pendingChangeAt, periodOf, planAt, segmentsIn, statusAt, type SubscriptionFacts } from "../domain/subscription";
import type { UnratedReason } from "../domain/usage-rating";
import type { ComponentUsage } from "../domain/component-usage";

/** Domain ↔ proto, in one place (rpc responses and published events share it). */

export const ts = (d: Date): Timestamp => timestampFromDate(d);
export const dateOf = (t: Timestamp | undefined): Date | undefined => (t ? timestampDate(t) : undefined);

export function range(p: Period): MessageInitShape<typeof common.TimeRangeSchema> {
  return { start: ts(p.start), end: ts(p.end) };
}

export const wire = (d: Decimal): string => toWire(d);

/** A billable amount: rounded to the currency's minor unit and written with exactly its digits ("12.50", JPY "1250", KWD "1.250"). */
export const roundedWire = (d: Decimal, currency: string): string => roundToMinorUnit(d, currency).toFixed(minorUnitDigits(currency));

const STATUS = { pending: rating.SubscriptionStatus.PENDING, active: rating.SubscriptionStatus.ACTIVE, canceled: rating.SubscriptionStatus.CANCELED } as const;

/** The subscription as seen at `now`. */
export function subscriptionProto(sub: SubscriptionFacts, now: Date): rating.Subscription {
  const status = statusAt(sub, now);
  const period = periodOf(sub, now);
  const inForce = planAt(sub, status === "canceled" && sub.cancelTime ? new Date(sub.cancelTime.getTime() - 1) : now);
  const pending = status === "canceled" ? undefined : pendingChangeAt(sub, now);
  return create(rating.SubscriptionSchema, {
    id: sub.id,
    customerId: sub.customerId,
    planKey: inForce.planKey,
    planVersion: inForce.planVersion,
    status: STATUS[status],
    timeZone: sub.timeZone,
    anchor: sub.anchor === "anniversary" ? rating.BillingAnchor.ANNIVERSARY : rating.BillingAnchor.CALENDAR,
    startTime: ts(sub.startTime),
    cancelTime: status === "canceled" && sub.cancelTime ? ts(sub.cancelTime) : undefined,
    currentPeriod: range(period),
    segments: segmentsIn(sub, period).map((s) => ({ planKey: s.planKey, planVersion: s.planVersion, range: range(s) })),
    pendingChange: pending && {
      kind: pending.kind === "cancel" ? rating.PendingChangeKind.CANCEL : rating.PendingChangeKind.PLAN_CHANGE,
      planKey: pending.kind === "plan_change" ? pending.planKey : "",
      planVersion: pending.kind === "plan_change" ? pending.planVersion : 0,
      effectiveTime: ts(pending.effectiveTime),
    },
    createTime: ts(sub.createTime),
    revision: BigInt(sub.revision),
  });
}

export function componentUsageProto(c: ComponentUsage): MessageInitShape<typeof rating.ComponentUsageSchema> {
  const pos = c.position;
  return {
    componentKey: c.componentKey,
    meterKey: c.meterKey,
    dimensionValue: c.dimensionValue,
    quantity: c.quantity.toFixed(),
    tierIndex: pos.tierIndex,
    tierLowerBound: pos.tiered ? pos.lowerBound.toFixed() : "",
    tierUpperBound: pos.tiered && pos.upperBound ? pos.upperBound.toFixed() : "",
    unitsToNextTier: pos.tiered && pos.unitsToNextThreshold ? pos.unitsToNextThreshold.toFixed() : "",
    amount: { currency: c.currency, amount: c.amount.toFixed() },
    period: range(c.segment),
    planKey: c.planKey,
    planVersion: c.planVersion,
    billableQuantity: c.billableQuantity.toFixed(),
  };
}

const LINE_KIND: Record<LineKind, rating.LineKind> = {
  recurring_fee: rating.LineKind.RECURRING_FEE,
  usage: rating.LineKind.USAGE,
  minimum_true_up: rating.LineKind.MINIMUM_TRUE_UP,
  maximum_adjustment: rating.LineKind.MAXIMUM_ADJUSTMENT,
};

export function invoiceLineProto(l: InvoiceLineDraft): MessageInitShape<typeof rating.InvoiceLineSchema> {
  return {
    ref: l.ref,
    kind: LINE_KIND[l.kind],
    componentKey: l.componentKey,
    description: l.description,
    quantity: wire(l.quantity),
    details: l.details.map((d) => ({
      ref: d.ref,
      tierIndex: d.tierIndex,
      lowerBound: d.lowerBound ? wire(d.lowerBound) : "",
      upperBound: d.upperBound ? wire(d.upperBound) : "",
      quantity: wire(d.quantity),
      unitAmount: wire(d.unitAmount),
      flatAmount: wire(d.flatAmount),
      subtotal: wire(d.subtotal),
      included: d.included,
    })),
    amount: wire(l.amount),
    period: l.period && range(l.period),
    dimensionValue: l.dimensionValue,
  };
}

/** A priced period as the preview messages carry it (PreviewInvoice, PreviewPeriods). */
export interface PricedPeriodView {
  sub: { id: string; customerId: string };
  period: Period;
  nominal: Period;
  currency: string;
  segments: readonly SegmentInput[];
}

/**
 * InvoicePreview: lines and money, and each segment's plan version and share of the nominal
 * period, from the same subscription history the lines were priced with.
 */
export function invoicePreviewProto(
  p: PricedPeriodView,
  lines: readonly InvoiceLineDraft[],
  subtotal: Decimal,
  total: Decimal,
): MessageInitShape<typeof rating.InvoicePreviewSchema> {
  return {
    customerId: p.sub.customerId,
    subscriptionId: p.sub.id,
    period: range(p.period),
    currency: p.currency,
    lines: lines.map(invoiceLineProto),
    subtotal: wire(subtotal),
    total: roundedWire(total, p.currency),
    segments: p.segments.map((s) => ({ period: s.range && range(s.range), planKey: s.plan.key, planVersion: s.plan.version, share: wire(s.share) })),
    nominalPeriod: range(p.nominal),
  };
}

export const UNRATED_REASON: Record<UnratedReason, rating.UnratedReason> = {
  no_subscription: rating.UnratedReason.NO_SUBSCRIPTION,
  period_closed: rating.UnratedReason.PERIOD_CLOSED,
  no_component: rating.UnratedReason.NO_COMPONENT,
  no_price: rating.UnratedReason.NO_PRICE,
  invalid_value: rating.UnratedReason.INVALID_VALUE,
};
