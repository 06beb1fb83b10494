import { shareOf } from "@tally/plan-pricing";
import type { Decimal } from "@tally/pricing";
import type { SegmentInput } from "./invoice-lines";
import type { Period } from "./periods";
import type { RatePlan } from "./rate-plan";
import { nominalPeriodOf, segmentsIn, type SubscriptionFacts } from "./subscription";
import type { AggregateState } from "./usage-rating";

/**
 * The plan segments of one period of a subscription with the rated quantities of each: what
 * preview, forecast and revenue price. `rows` are the period's segment aggregates (any others are
 * ignored); `planOf` gives each segment's plan version.
 *
 * Shares are of the NOMINAL period (`nominalPeriodOf`), so a period cut short — the first
 * CALENDAR period of a subscription starting mid-month, the last one of a subscription canceled
 * mid-period — prorates its fee, minimums and maximums like a segment of an immediate change.
 */
export function periodSegmentInputs(sub: SubscriptionFacts, period: Period, rows: readonly AggregateState[], planOf: (key: string, version: number) => RatePlan): SegmentInput[] {
  const ranges = segmentsIn(sub, period);
  const nominal = nominalPeriodOf(sub, period);
  return ranges.map((seg, n) => {
    // An immediate change ends this segment where the next begins (a cancellation leaves no next).
    const changed = ranges[n + 1]?.start.getTime() === seg.end.getTime();
    const replaced = changed ? { charged: shareOf({ start: seg.start, end: period.end }, nominal), credited: shareOf({ start: seg.end, end: period.end }, nominal) } : undefined;
    return { plan: planOf(seg.planKey, seg.planVersion), range: seg, share: shareOf(seg, nominal), quantities: quantitiesOf(rows, period.start, seg.start), replaced };
  });
}

function quantitiesOf(rows: readonly AggregateState[], periodStart: Date, segmentStart: Date): Map<string, Map<string, Decimal>> {
  const out = new Map<string, Map<string, Decimal>>();
  for (const r of rows) {
    if (r.key.segmentStart.getTime() !== segmentStart.getTime() || r.key.periodStart.getTime() !== periodStart.getTime()) continue;
    const byValue = out.get(r.key.componentKey) ?? new Map<string, Decimal>();
    byValue.set(r.key.dimensionValue, r.quantity);
    out.set(r.key.componentKey, byValue);
  }
  return out;
}
