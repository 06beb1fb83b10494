import { ZERO, type Decimal } from "../decimal";
import type { Tier, TierCrossing, TierPosition } from "../types";

/**
 * A validated tier table, precomputed for the hot path: lower bounds, tier lookup by binary
 * search, and the positions/crossings shared by graduated and volume pricing.
 *
 * Convention: tier i covers (lower[i], upper[i]]; lower[0] = 0 and tier 0 also holds 0 itself;
 * upper[last] = null (open-ended). Quantities here are billable units (after included units).
 */
export class TierTable {
  readonly lower: readonly Decimal[];
  readonly upper: readonly (Decimal | null)[];
  readonly unit: readonly Decimal[];
  readonly flat: readonly Decimal[];
  /** Index of the open-ended tier; also the number of finite bounds. */
  readonly last: number;

  constructor(tiers: readonly Tier[]) {
    const lower: Decimal[] = [];
    let previous = ZERO;
    for (const tier of tiers) {
      lower.push(previous);
      if (tier.upTo !== null) previous = tier.upTo;
    }
    this.lower = lower;
    this.upper = tiers.map((t) => t.upTo);
    this.unit = tiers.map((t) => t.unitAmount);
    this.flat = tiers.map((t) => t.flatAmount);
    this.last = tiers.length - 1;
  }

  /** The tier a quantity falls in: the first whose inclusive upper bound is ≥ quantity. */
  indexOf(quantity: Decimal): number {
    let lo = 0;
    let hi = this.last;
    const upper = this.upper;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      // Every tier before `last` has a finite bound (validated).
      if (quantity.lte(upper[mid] as Decimal)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  lowerOf(index: number): Decimal {
    return this.lower[index] as Decimal;
  }

  upperOf(index: number): Decimal | null {
    return this.upper[index] as Decimal | null;
  }

  unitOf(index: number): Decimal {
    return this.unit[index] as Decimal;
  }

  flatOf(index: number): Decimal {
    return this.flat[index] as Decimal;
  }

  position(quantity: Decimal): TierPosition {
    const index = this.indexOf(quantity);
    const upper = this.upperOf(index);
    return {
      tierIndex: index,
      lowerBound: this.lowerOf(index),
      upperBound: upper,
      nextThreshold: upper,
      unitsToNextThreshold: upper === null ? null : upper.minus(quantity),
    };
  }

  crossings(from: Decimal, to: Decimal): TierCrossing[] {
    const a = this.indexOf(from);
    const b = this.indexOf(to);
    const out: TierCrossing[] = [];
    for (let i = a; i < b; i++) {
      out.push({ fromTier: i, toTier: i + 1, threshold: this.upperOf(i) as Decimal, direction: "up" });
    }
    for (let i = a - 1; i >= b; i--) {
      out.push({ fromTier: i + 1, toTier: i, threshold: this.upperOf(i) as Decimal, direction: "down" });
    }
    return out;
  }
}

/** Position of models without tiers: one band, (0, ∞), index 0. */
export function singleBandPosition(): TierPosition {
  return { tierIndex: 0, lowerBound: ZERO, upperBound: null, nextThreshold: null, unitsToNextThreshold: null };
}
