import type { Decimal } from "./decimal";

/**
 * One row of a tier table. Bounds are written as ordered, inclusive upper bounds: tier i covers
 * quantities in (tiers[i-1].upTo, tiers[i].upTo], the first tier starts above 0 (and also holds
 * 0 itself), and exactly the last tier has `upTo: null` (open-ended).
 * A tier may charge per unit, a flat amount when usage enters it, or both.
 */
export interface Tier {
  upTo: Decimal | null;
  unitAmount: Decimal;
  flatAmount: Decimal;
}

/** How usage turns into money. Plain data; the proto layer maps to and from it. */
export type PriceModel =
  /** quantity × unitAmount */
  | { kind: "per_unit"; unitAmount: Decimal }
  /** every unit priced at the tier it falls in (plus each entered tier's flat amount) */
  | { kind: "graduated"; tiers: Tier[] }
  /** all units priced at the tier the total falls in (plus that tier's flat amount) */
  | { kind: "volume"; tiers: Tier[] }
  /** packageAmount per started block of packageSize units */
  | { kind: "package"; packageSize: Decimal; packageAmount: Decimal }
  /** a recurring fee, independent of usage */
  | { kind: "flat_fee"; amount: Decimal }
  /** quantity is a summed monetary amount; charge quantity × rate (1.3 = cost + 30 %, 0.025 = 2.5 %) */
  | { kind: "percentage"; rate: Decimal };

export type PriceModelKind = PriceModel["kind"];

/**
 * A price component: a model plus the steps composed around it.
 * - `includedUnits`: free units consumed before the model sees any quantity (tier bounds are in
 *   billable units, i.e. after the included ones).
 * - `minimum`: at least this much per period — at zero usage the amount is the minimum.
 * - `maximum`: at most this much per period (a cap).
 * amount(q) = min(max(model(max(q − includedUnits, 0)), minimum), maximum).
 */
export interface Price {
  model: PriceModel;
  includedUnits?: Decimal;
  minimum?: Decimal;
  maximum?: Decimal;
}

/**
 * A different price per value of one dimension (e.g. per LLM model), with a default for values
 * not listed. minimum/maximum apply to the sum over all values.
 */
export interface DimensionalPrice {
  dimension: string;
  prices: Record<string, Price>;
  defaultPrice?: Price;
  minimum?: Decimal;
  maximum?: Decimal;
}

export type PriceLineKind =
  | "included"
  | "graduated_tier"
  | "volume_tier"
  | "per_unit"
  | "package"
  | "flat_fee"
  | "percentage"
  | "minimum"
  | "maximum"
  | "unpriced";

/**
 * One explained step of a total. For every line, subtotal = quantity × unitAmount + flatAmount,
 * and the lines of a result sum to its amount.
 *
 * `quantity` is in the line's billing unit: units for tiers and per-unit, packages (blocks) for
 * "package", the summed monetary amount for "percentage", 1 for "flat_fee", 0 for the
 * "minimum"/"maximum" adjustments (whose flatAmount is the adjustment, negative for a cap).
 */
export interface PriceLine {
  /**
   * Stable reference, the same for the same component of the same price in every period:
   * "included", "tier:<0-based index>", "per_unit", "package", "flat_fee", "percentage",
   * "minimum", "maximum", "unpriced"; dimensional lines are prefixed "<dimension>=<value>/".
   */
  ref: string;
  kind: PriceLineKind;
  /** 0-based, as in positions and crossings; descriptions say "Tier 1" for index 0. */
  tierIndex?: number;
  /** Exclusive lower bound, on the customer's raw quantity scale (included units added). */
  lowerBound?: Decimal;
  /** Inclusive upper bound on the raw scale; null for the open-ended last tier. */
  upperBound?: Decimal | null;
  quantity: Decimal;
  unitAmount: Decimal;
  /** The flat amount actually charged by this line (0 if the tier's flat amount did not apply). */
  flatAmount: Decimal;
  /** Precise, unrounded. */
  subtotal: Decimal;
  /** For "package" lines: the usage units that were packed into `quantity` packages. */
  units?: Decimal;
  /** For "package" lines: units per package. */
  packageSize?: Decimal;
  /** Human-readable arithmetic, e.g. "Tier 2 (over 100 up to 1000): 50 × 0.08 = 4". */
  description: string;
}

/** A precise (unrounded) amount and the lines that explain it. */
export interface PricedAmount {
  amount: Decimal;
  lines: PriceLine[];
}

/**
 * Where a quantity sits, on the customer's raw quantity scale. `tierIndex` is 0-based;
 * {@link INCLUDED_TIER_INDEX} (-1) is the included-units band [0, includedUnits].
 * Models without tiers (per-unit, package, flat fee, percentage) have one open band, index 0.
 */
export interface TierPosition {
  tierIndex: number;
  /** Exclusive lower bound of the band (0 for the first band, which also holds 0 itself). */
  lowerBound: Decimal;
  /** Inclusive upper bound; null for the open-ended band. */
  upperBound: Decimal | null;
  /** The quantity at which the next band starts being used (= upperBound); null if none. */
  nextThreshold: Decimal | null;
  /** nextThreshold − quantity (0 when exactly on the bound: the next unit crosses); null if none. */
  unitsToNextThreshold: Decimal | null;
}

/** A threshold passed between two quantities. `threshold` is the quantity at which it was passed. */
export interface TierCrossing {
  fromTier: number;
  toTier: number;
  threshold: Decimal;
  direction: "up" | "down";
}

/**
 * Prices one component for a period. Created by `createPricer` from a validated price; no method
 * ever throws. Quantities are the period's cumulative usage on the raw scale; negative or NaN
 * quantities price as 0.
 */
export interface Pricer {
  /** The precise total and the lines explaining it. */
  total(quantity: Decimal): PricedAmount;
  /** The precise total without lines (fast path). */
  amount(quantity: Decimal): Decimal;
  /** Band of the quantity, its bounds, and the distance to the next threshold. */
  position(quantity: Decimal): TierPosition;
  /**
   * amount(to) − amount(from), exactly, computed cheaply; negative when `to < from`, and for
   * volume tiers also when `to` reaches a cheaper tier. For any split 0 = q0 ≤ q1 ≤ … ≤ qn = q:
   * amount(0) + Σ increment(q(i-1), q(i)) = amount(q).
   */
  increment(from: Decimal, to: Decimal): Decimal;
  /** Every threshold passed going from `from` to `to`, in the order passed (downward if to < from). */
  crossings(from: Decimal, to: Decimal): TierCrossing[];
}

/** The result of a dimensional total: lines are prefixed by "<dimension>=<value>/". */
export interface DimensionalPricedAmount extends PricedAmount {
  /** Values that had no price and no default: their usage is listed as "unpriced", charged 0. */
  unpriced: string[];
}

export interface DimensionalPricer {
  readonly dimension: string;
  /** Prices every value's quantity, sums, then applies the dimensional minimum/maximum. */
  total(quantitiesByValue: ReadonlyMap<string, Decimal>): DimensionalPricedAmount;
  amount(quantitiesByValue: ReadonlyMap<string, Decimal>): Decimal;
  /**
   * The pricer of one value (its own price, else the default). Without a default, an unknown
   * value gets a pricer that charges 0 and reports its lines as "unpriced": check
   * {@link hasPriceFor} when that matters. The dimensional minimum/maximum are not included.
   */
  pricerFor(value: string): Pricer;
  /** True if the value has its own price or a default applies. */
  hasPriceFor(value: string): boolean;
}

/** 0-based tier index of the included-units band, below tier 0. */
export const INCLUDED_TIER_INDEX = -1;
