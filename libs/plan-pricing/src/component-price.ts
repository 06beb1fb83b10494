import type { Decimal, Price } from "@tally/pricing";

/** The pricing model as the plan states it (the proto oneof case); the library may model it differently. */
export type ModelKind = "per_unit" | "graduated" | "volume" | "package" | "flat_fee" | "percentage";

/**
 * One price of a component (or of one dimension value), already mapped to the pricing library.
 * `price` carries the model and included units; minimum and maximum are kept apart because they
 * are per period and are prorated per plan segment before use (see pricer-cache.ts).
 */
export interface ComponentPrice {
  modelKind: ModelKind;
  price: Price;
  includedUnits: Decimal;
  minimum?: Decimal;
  maximum?: Decimal;
}

/** How a plan component prices its meter: one price, or one per value of a dimension. */
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

/** The price a dimension value uses: its own, else the default; undefined = no price. */
export function priceForValue(pricing: ComponentPricing, dimensionValue: string): ComponentPrice | undefined {
  if (pricing.kind === "single") return pricing.price;
  return pricing.prices.get(dimensionValue) ?? pricing.defaultPrice;
}
