import { Decimal } from "@tally/pricing";
import type { ComponentUsageRecord } from "./records";

/**
 * Where a component stands in its current tier: the share of the tier's width already used
 * (billable quantity − lower bound) ÷ (upper − lower), or null in an open-ended last tier, where
 * there is no next threshold to progress towards.
 */
export function tierProgress(c: ComponentUsageRecord): number | null {
  if (!c.tierUpperBound) return null;
  const lower = new Decimal(c.tierLowerBound || "0");
  const width = new Decimal(c.tierUpperBound).minus(lower);
  if (width.lte(0)) return null;
  const used = new Decimal(c.billableQuantity || c.quantity).minus(lower);
  return Decimal.min(Decimal.max(used.div(width), 0), 1).toNumber();
}
