import { nominalPeriodAt, periodAt, type BillingAnchor, type BillingInterval, type Period } from "./periods";

/**
 * A subscription as rating reasons about it. Everything time-dependent (status, current period,
 * pending change) is DERIVED from these facts and a given instant, so rating an event never
 * depends on a background job having run: an event at time t is rated in the period and plan
 * segment that contain t.
 *
 * - `phases`: the billing interval in force from each instant. The first phase starts at
 *   `startTime`; a plan change at period end to a plan with another interval adds a phase that
 *   starts at that period end (and, for ANNIVERSARY, re-anchors there).
 * - `segments`: the plan version in force from each instant, in time order. An immediate change
 *   adds one starting at its effective time (splitting the period); a change at period end adds
 *   one starting at the period end (that future segment IS the pending change).
 * - `cancelTime`: the end; in the future for a cancellation scheduled at period end.
 */
/** What a subscription.changed announces. */
export type ChangeKind = "created" | "plan_changed" | "change_scheduled" | "canceled" | "period_started";

/** When a plan change or cancellation takes effect. */
export type ChangeTiming = "immediately" | "at_period_end";

export interface SubscriptionFacts {
  id: string;
  customerId: string;
  timeZone: string;
  anchor: BillingAnchor;
  startTime: Date;
  cancelTime: Date | null;
  phases: Phase[];
  segments: SegmentPlan[];
  createTime: Date;
  revision: number;
}

export interface Phase {
  from: Date;
  interval: BillingInterval;
}

export interface SegmentPlan {
  start: Date;
  planKey: string;
  planVersion: number;
}

/** A plan segment clipped to a period. */
export interface Segment extends SegmentPlan {
  end: Date;
}

export type SubscriptionStatus = "pending" | "active" | "canceled";

export function statusAt(sub: SubscriptionFacts, now: Date): SubscriptionStatus {
  if (sub.cancelTime && sub.cancelTime.getTime() <= now.getTime()) return "canceled";
  if (sub.startTime.getTime() > now.getTime()) return "pending";
  return "active";
}

/** True while the subscription has not ended (PENDING or ACTIVE). */
export function isLive(sub: SubscriptionFacts, now: Date): boolean {
  return statusAt(sub, now) !== "canceled";
}

/** Whether the subscription covers instant t (started, not yet ended). */
export function covers(sub: SubscriptionFacts, t: Date): boolean {
  return t.getTime() >= sub.startTime.getTime() && (sub.cancelTime === null || t.getTime() < sub.cancelTime.getTime());
}

/**
 * The billing period containing t: the phase's period, cut short where the next phase begins or
 * the subscription ends. For t outside the subscription, the nearest period (first or last).
 */
export function periodOf(sub: SubscriptionFacts, t: Date): Period {
  let at = t;
  if (at.getTime() < sub.startTime.getTime()) at = sub.startTime;
  if (sub.cancelTime && at.getTime() >= sub.cancelTime.getTime()) at = new Date(Math.max(sub.startTime.getTime(), sub.cancelTime.getTime() - 1));
  const phaseIndex = lastIndexAtOrBefore(sub.phases, (p) => p.from, at);
  const phase = sub.phases[phaseIndex]!;
  const next = sub.phases[phaseIndex + 1];
  const period = periodAt({ interval: phase.interval, anchor: sub.anchor, timeZone: sub.timeZone, origin: phase.from }, at);
  let end = period.end;
  if (next && next.from.getTime() < end.getTime()) end = next.from;
  if (sub.cancelTime && sub.cancelTime.getTime() < end.getTime()) end = sub.cancelTime;
  return { start: period.start, end };
}

/**
 * The nominal period of a billed period (as `periodOf` gives it): the phase's whole interval that
 * contains it, not cut where the subscription starts (first CALENDAR period), where it is
 * canceled, or where a next phase begins. Recurring fees, minimums and maximums of a partial
 * period are prorated against ITS length, in milliseconds: a subscription canceled on day 10 of
 * a 30-day month pays 10/30 of its minimum, not all of it (as upgrade proration does).
 */
export function nominalPeriodOf(sub: SubscriptionFacts, period: Period): Period {
  const phase = sub.phases[lastIndexAtOrBefore(sub.phases, (p) => p.from, period.start)]!;
  return nominalPeriodAt({ interval: phase.interval, anchor: sub.anchor, timeZone: sub.timeZone, origin: phase.from }, period.start);
}

/** The plan segments of a period, clipped to it, in time order, covering it without gaps. */
export function segmentsIn(sub: SubscriptionFacts, period: Period): Segment[] {
  const out: Segment[] = [];
  sub.segments.forEach((s, i) => {
    const nextStart = sub.segments[i + 1]?.start;
    const start = Math.max(s.start.getTime(), period.start.getTime());
    const end = Math.min(nextStart ? nextStart.getTime() : Infinity, period.end.getTime());
    if (start < end) out.push({ ...s, start: new Date(start), end: new Date(end) });
  });
  return out;
}

/** The plan in force at t. */
export function planAt(sub: SubscriptionFacts, t: Date): SegmentPlan {
  return sub.segments[Math.max(0, lastIndexAtOrBefore(sub.segments, (s) => s.start, t))]!;
}

export type PendingChange =
  | { kind: "plan_change"; planKey: string; planVersion: number; effectiveTime: Date }
  | { kind: "cancel"; effectiveTime: Date };

/** A change scheduled for a later period boundary, as seen at `now`. */
export function pendingChangeAt(sub: SubscriptionFacts, now: Date): PendingChange | undefined {
  const future = sub.segments.find((s) => s.start.getTime() > now.getTime() && s.start.getTime() > sub.startTime.getTime());
  if (future) return { kind: "plan_change", planKey: future.planKey, planVersion: future.planVersion, effectiveTime: future.start };
  if (sub.cancelTime && sub.cancelTime.getTime() > now.getTime()) return { kind: "cancel", effectiveTime: sub.cancelTime };
  return undefined;
}

function lastIndexAtOrBefore<T>(items: readonly T[], time: (item: T) => Date, t: Date): number {
  let found = 0;
  for (let i = 0; i < items.length; i++) {
    if (time(items[i]!).getTime() <= t.getTime()) found = i;
    else break;
  }
  return found;
}
