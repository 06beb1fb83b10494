import type { Decimal } from "@tally/pricing";
import type { Range } from "../domain/forecast";
import type { SegmentInput } from "../domain/invoice-lines";
import type { Period } from "../domain/periods";
import type { SubscriptionFacts } from "../domain/subscription";

/** How long a billing's projection is reused while nothing it rests on changes (service clock). */
export const REUSE_MS = 60 * 60_000;
const MAX_ENTRIES = 200_000;

export interface BillingProjection {
  amountToDate: Decimal;
  amount: Range;
}

/**
 * ForecastRevenue's projections of open billings, kept in this instance. An entry is reused only
 * within the same hour of the service clock and while the subscription (its revision), the
 * period and every rated quantity of the period are unchanged: a subscription with new usage is
 * projected afresh, the others cost a lookup. What ages within the hour is the elapsed share of
 * the day in progress, and the cohort prior.
 */
export class RevenueMemo {
  private readonly entries = new Map<string, BillingProjection>();

  keyOf(sub: SubscriptionFacts, period: Period, segments: readonly SegmentInput[], now: Date): string {
    const parts = [sub.id, String(sub.revision), String(period.start.getTime()), String(period.end.getTime()), String(Math.floor(now.getTime() / REUSE_MS))];
    for (const s of segments) {
      parts.push(`${s.plan.key}@${s.plan.version}`);
      for (const [component, byValue] of s.quantities) for (const [value, q] of byValue) parts.push(`${component}/${value}=${q.toFixed()}`);
    }
    return parts.join("\u0000");
  }

  get(key: string): BillingProjection | undefined {
    return this.entries.get(key);
  }

  set(key: string, projection: BillingProjection): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, projection);
  }
}
