import type { Decimal, TierPosition } from "@tally/pricing";
import type { Period } from "./periods";

/** One component (and dimension value) of a segment, as GetCurrentUsage shows it. */
export interface ComponentUsage {
  componentKey: string;
  meterKey: string;
  dimensionValue: string;
  quantity: Decimal;
  billableQuantity: Decimal;
  /** Where the billable quantity stands in the model's tiers; `tiered` false for untiered models. */
  position: TierPosition & { tiered: boolean };
  amount: Decimal;
  currency: string;
  segment: Period;
  planKey: string;
  planVersion: number;
}
