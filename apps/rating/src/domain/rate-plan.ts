import type { Decimal, Price } from "@tally/pricing";
import type { BillingInterval } from "./periods";

/** How a meter combines readings over a period (the meter's aggregation, copied from metering). */
export type Aggregation = "count" | "sum" | "max" | "unique_count" | "latest";

/** Rating's copy of a meter definition, kept from metering's MeterCreated/MeterArchived events. */
export interface MeterInfo {
  key: string;
  aggregation: Aggregation;
  groupBy: string[];
  active: boolean;
}

/** The pricing model as the plan states it (the proto oneof case); the library may model it differently. */
export type ModelKind = "per_unit" | "graduated" | "volume" | "package" | "flat_fee" | "percentage";

/**
 * One price of a component (or of one dimension value), already mapped to the pricing library.
 * `price` carries the model and included units; minimum and maximum are kept apart because they
 * are per period and are prorated per plan segment before use (see component-pricing.ts).
 */
export interface ComponentPrice {
  modelKind: ModelKind;
  price: Price;
  includedUnits: Decimal;
  minimum?: Decimal;
  maximum?: Decimal;
}

export type ComponentPricing =
  | { kind: "single"; price: ComponentPrice }
  | {
      kind: "dimensional";
      dimension: string;
      prices: ReadonlyMap<string, ComponentPrice>;
      defaultPrice?: ComponentPrice;
      minimum?: Decimal;
      maximum?: Decimal;
    };

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
  const pricing = component.pricing;
  if (pricing.kind === "single") return pricing.price;
  return pricing.prices.get(dimensionValue) ?? pricing.defaultPrice;
}

/** The dimension a component splits usage by ("" when it does not). */
export function dimensionOf(component: RateComponent): string {
  return component.pricing.kind === "dimensional" ? component.pricing.dimension : "";
}
