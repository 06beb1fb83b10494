import type { Decimal } from "@tally/pricing";
import type { AlertThreshold, Limit } from "./types";

export interface ReachedThreshold {
  limit: Limit;
  threshold: AlertThreshold;
  /** Stable identity of the threshold within the limit, e.g. "percent:80". */
  thresholdKey: string;
  /** The threshold in the limit's measure, e.g. 800 for 80% of 1000. */
  thresholdValue: Decimal;
  observed: Decimal;
}

/** The threshold resolved to the limit's measure: value × percent ÷ 100, or the absolute level. */
export function resolveThreshold(limit: Limit, threshold: AlertThreshold): Decimal {
  return "percent" in threshold ? limit.value.mul(threshold.percent).div(100) : threshold.absolute;
}

/** Identity used by the once-per-period constraint; canonical decimal so "80" and "80.0" agree. */
export function thresholdKey(threshold: AlertThreshold): string {
  return "percent" in threshold ? `percent:${threshold.percent.toFixed()}` : `absolute:${threshold.absolute.toFixed()}`;
}

/**
 * Thresholds of `limit` that observed usage (counted usage, never
 * reservations) has reached (>=). Whether each already fired this period is
 * the store's unique constraint's business, not this function's.
 */
export function reachedThresholds(limit: Limit, observed: Decimal): ReachedThreshold[] {
  return limit.alerts
    .map((threshold) => ({ limit, threshold, thresholdKey: thresholdKey(threshold), thresholdValue: resolveThreshold(limit, threshold), observed }))
    .filter((t) => observed.gte(t.thresholdValue));
}
