import type { ComponentPricing, MeterFacts } from "@tally/plan-pricing";
import type { Violations } from "@tally/platform/errors";
import type { BillingInterval } from "./periods";
import type { FeeTiming } from "./rate-plan";

/**
 * Reads a component's price as written, against what its meter says (a percentage needs a SUM
 * meter, a dimensional price one of the meter's group-by keys), adding each problem at `at`.
 * Deferred so that plan validation reports every problem of a component in field order — key,
 * meter, then price — whoever wrote the price (the rpc layer maps it through @tally/plan-pricing).
 */
export type PricingReader = (at: string, meter: MeterFacts, v: Violations) => ComponentPricing | undefined;

export interface ComponentDraft {
  key: string;
  meterKey: string;
  displayName: string;
  readPricing: PricingReader;
}

/** A plan as a client wrote it, before validation (`buildRatePlan` turns it into a RatePlan). */
export interface PlanDraft {
  key: string;
  name: string;
  currency: string;
  /** Undefined when the plan gives none (a violation). */
  interval: BillingInterval | undefined;
  /** `amount` as written (a decimal string); `timing` undefined when the plan gives none. */
  recurringFee?: { amount: string; timing: FeeTiming | undefined };
  components: ComponentDraft[];
  /**
   * The plan exactly as written, in its stored encoding: plans are immutable and GetPlan returns
   * one as created (decimal strings as the client wrote them), so the bytes are kept, not rebuilt.
   */
  written: Uint8Array;
}
