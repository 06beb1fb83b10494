import type { Decimal } from "./decimal";
import type { PriceLine, TierCrossing, TierPosition } from "./types";

/**
 * A line before it is described. A step that knows better than the generic wording (minimum,
 * maximum, unpriced) sets `description` itself; every other line is described from its fields by
 * `describeLine` once the whole pipeline has run, so descriptions always show final (raw-scale)
 * bounds.
 */
export type LineDraft = Omit<PriceLine, "description"> & { description?: string };

export interface DraftAmount {
  amount: Decimal;
  lines: LineDraft[];
}

/**
 * The template every model and every step around a model implements. Internal: the public
 * `Pricer` wraps it to sanitise quantities and describe lines. Quantities reaching a ModelPricer
 * are already our Decimal and never negative or NaN.
 */
export interface ModelPricer {
  total(quantity: Decimal): DraftAmount;
  amount(quantity: Decimal): Decimal;
  position(quantity: Decimal): TierPosition;
  increment(from: Decimal, to: Decimal): Decimal;
  crossings(from: Decimal, to: Decimal): TierCrossing[];
}
