import { Decimal } from "@tally/pricing";
import type { ComponentUsageRecord, LimitRecord } from "./records";

export interface LimitPosition {
  limit: LimitRecord;
  /** Decimal string in the limit's measure: meter units or spend in its currency. */
  usage: string;
  /** usage ÷ limit value (1 = at the limit). */
  ratio: number;
  state: "ok" | "near" | "reached";
}

/** The share of a limit at which a customer counts as "near" it on the pages. */
export const NEAR_LIMIT_RATIO = 0.8;

export function limitPosition(limit: LimitRecord, usage: string): LimitPosition {
  const ratio = new Decimal(usage).div(limit.value).toNumber();
  return { limit, usage, ratio, state: ratio >= 1 ? "reached" : ratio >= NEAR_LIMIT_RATIO ? "near" : "ok" };
}

/**
 * Spend as limits counts it: rated usage amounts of the period (recurring fees and true-ups are
 * not spend), of the components pricing the limit's meter, or of all components when it has none.
 */
export function spendOf(components: ComponentUsageRecord[], meterKey: string): string {
  return components
    .filter((c) => !meterKey || c.meterKey === meterKey)
    .reduce((sum, c) => sum.plus(c.amount), new Decimal(0))
    .toFixed();
}
