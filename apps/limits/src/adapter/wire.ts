import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { limits as pb, rating } from "@tally/contracts";
import { toWire, type Decimal } from "@tally/pricing";
import type {
  AlertThreshold,
  CreditGrant,
  DenyReason,
  GrantStatus,
  LedgerEntry,
  LedgerEntryKind,
  Limit,
  LimitKind,
  LimitMeasure,
  Reservation,
  ReservationStatus,
  SubscriptionStatus,
  TriggeredAlert,
} from "../domain/types";
import type { SubscriptionSnapshot } from "./customer-store";

/**
 * Mapping between the wire (protobuf) and the domain, in one place: the rpc
 * layer and the event publisher both use it.
 */

export const ts = (d: Date | null | undefined): Timestamp | undefined => (d ? timestampFromDate(d) : undefined);
export const dateOf = (t: Timestamp | undefined): Date | undefined => (t ? timestampDate(t) : undefined);
const money = (currency: string, amount: Decimal) => ({ currency, amount: toWire(amount) });

export const limitKindFromWire = (k: pb.LimitKind): LimitKind | undefined =>
  k === pb.LimitKind.HARD_CAP ? "hard_cap" : k === pb.LimitKind.SOFT_LIMIT ? "soft_limit" : undefined;
export const limitMeasureFromWire = (m: pb.LimitMeasure): LimitMeasure | undefined =>
  m === pb.LimitMeasure.UNITS ? "units" : m === pb.LimitMeasure.SPEND ? "spend" : undefined;
export const limitKindToWire = (k: LimitKind) => (k === "hard_cap" ? pb.LimitKind.HARD_CAP : pb.LimitKind.SOFT_LIMIT);
export const limitMeasureToWire = (m: LimitMeasure) => (m === "units" ? pb.LimitMeasure.UNITS : pb.LimitMeasure.SPEND);

export function thresholdToWire(t: AlertThreshold): MessageInitShape<typeof pb.AlertThresholdSchema> {
  return { threshold: "percent" in t ? { case: "percent", value: toWire(t.percent) } : { case: "absolute", value: toWire(t.absolute) } };
}

export function limitToWire(l: Limit): MessageInitShape<typeof pb.LimitSchema> {
  return {
    id: l.id,
    scope: "planKey" in l.scope ? { case: "planKey", value: l.scope.planKey } : { case: "customerId", value: l.scope.customerId },
    meterKey: l.meterKey,
    kind: limitKindToWire(l.kind),
    measure: limitMeasureToWire(l.measure),
    value: toWire(l.value),
    currency: l.currency,
    alerts: l.alerts.map(thresholdToWire),
  };
}

const RESERVATION_STATUS: Record<ReservationStatus, pb.ReservationStatus> = {
  active: pb.ReservationStatus.ACTIVE,
  committed: pb.ReservationStatus.COMMITTED,
  released: pb.ReservationStatus.RELEASED,
  settled: pb.ReservationStatus.SETTLED,
  expired: pb.ReservationStatus.EXPIRED,
};

export function reservationToWire(r: Reservation): MessageInitShape<typeof pb.ReservationSchema> {
  return {
    id: r.id,
    customerId: r.customerId,
    meterKey: r.meterKey,
    quantity: toWire(r.quantity),
    status: RESERVATION_STATUS[r.status],
    createTime: ts(r.createTime),
    expireTime: ts(r.expireTime),
  };
}

export const DENY_REASON: Record<DenyReason, pb.DenyReason> = {
  hard_cap_exceeded: pb.DenyReason.HARD_CAP_EXCEEDED,
  credits_exhausted: pb.DenyReason.CREDITS_EXHAUSTED,
  no_subscription: pb.DenyReason.NO_SUBSCRIPTION,
  invoice_uncollectible: pb.DenyReason.INVOICE_UNCOLLECTIBLE,
};

export const GRANT_STATUS: Record<GrantStatus, pb.GrantStatus> = {
  pending: pb.GrantStatus.PENDING,
  active: pb.GrantStatus.ACTIVE,
  depleted: pb.GrantStatus.DEPLETED,
  expired: pb.GrantStatus.EXPIRED,
  voided: pb.GrantStatus.VOIDED,
};

export function grantToWire(g: CreditGrant, status: GrantStatus): MessageInitShape<typeof pb.CreditGrantSchema> {
  return {
    id: g.id,
    customerId: g.customerId,
    amount: money(g.currency, g.amount),
    credits: g.credits,
    creditRate: g.creditRate,
    priority: g.priority,
    effectiveTime: ts(g.effectiveTime),
    expireTime: ts(g.expireTime),
    idempotencyKey: g.idempotencyKey,
    description: g.description,
    status: GRANT_STATUS[status],
    createTime: ts(g.createTime),
    voidTime: ts(g.voidTime),
    voidReason: g.voidReason,
  };
}

const ENTRY_KIND: Record<LedgerEntryKind, pb.LedgerEntryKind> = {
  grant: pb.LedgerEntryKind.GRANT,
  burn: pb.LedgerEntryKind.BURN,
  expiry: pb.LedgerEntryKind.EXPIRY,
  void: pb.LedgerEntryKind.VOID,
};

export function entryToWire(e: LedgerEntry): MessageInitShape<typeof pb.LedgerEntrySchema> {
  return {
    id: e.id,
    customerId: e.customerId,
    grantId: e.grantId,
    kind: ENTRY_KIND[e.kind],
    amount: toWire(e.amount),
    currency: e.currency,
    createTime: ts(e.createTime),
    sourceRef: e.sourceRef,
    balanceAfter: toWire(e.balanceAfter),
  };
}

export function alertToWire(a: TriggeredAlert): MessageInitShape<typeof pb.TriggeredAlertSchema> {
  return {
    id: a.id,
    limitId: a.limitId,
    customerId: a.customerId,
    threshold: thresholdToWire(a.threshold),
    observedValue: toWire(a.observedValue),
    period: { start: ts(a.period.start), end: ts(a.period.end) },
    triggerTime: ts(a.triggerTime),
    meterKey: a.meterKey,
    measure: limitMeasureToWire(a.measure),
    kind: limitKindToWire(a.kind),
    limitValue: toWire(a.limitValue),
    thresholdValue: toWire(a.thresholdValue),
    currency: a.currency,
  };
}

// ---- rating's events → limits' own state ----

const SUBSCRIPTION_STATUS: Partial<Record<rating.SubscriptionStatus, SubscriptionStatus>> = {
  [rating.SubscriptionStatus.PENDING]: "pending",
  [rating.SubscriptionStatus.ACTIVE]: "active",
  [rating.SubscriptionStatus.CANCELED]: "canceled",
};

export function subscriptionFromWire(s: rating.Subscription): SubscriptionSnapshot | undefined {
  const status = SUBSCRIPTION_STATUS[s.status];
  const start = dateOf(s.currentPeriod?.start);
  if (!status || !start || s.customerId === "") return undefined;
  return {
    customerId: s.customerId,
    subscriptionId: s.id,
    planKey: s.planKey,
    planVersion: s.planVersion,
    status,
    period: { start, end: dateOf(s.currentPeriod?.end) ?? null },
    revision: s.revision,
  };
}

export { create };
