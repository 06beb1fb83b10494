import type { Aggregation } from "@tally/contracts";
import { priceForValue as pricingForValue, type ComponentPrice, type ComponentPricing } from "@tally/plan-pricing";
import type { Decimal } from "@tally/pricing";
import type { BillingInterval } from "./periods";

export type { Aggregation };

/** Rating's copy of a meter definition, kept from metering's MeterCreated/MeterArchived events. */
export interface MeterInfo {
  key: string;
  aggregation: Aggregation;
  groupBy: string[];
  active: boolean;
}

export interface RateComponent {
  key: string;
  meterKey: string;
  displayName: string;
  aggregation: Aggregation;
  pricing: ComponentPricing;
}

export type FeeTiming = "in_advance" | "in_arrears";

/** A validated, immutable plan version: everything rating needs to price usage with it. */
export interface RatePlan {
  key: string;
  version: number;
  name: string;
  currency: string;
  interval: BillingInterval;
  recurringFee?: { amount: Decimal; timing: FeeTiming };
  components: RateComponent[];
}

/** The price a dimension value uses: its own, else the default; undefined = no price (NO_PRICE). */
export function priceForValue(component: RateComponent, dimensionValue: string): ComponentPrice | undefined {
  return pricingForValue(component.pricing, dimensionValue);
}

/** The dimension a component splits usage by ("" when it does not). */
export function dimensionOf(component: RateComponent): string {
  return component.pricing.kind === "dimensional" ? component.pricing.dimension : "";
}
