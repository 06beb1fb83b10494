import { ZERO, type Decimal } from "../decimal";
import type { DraftAmount, LineDraft, ModelPricer } from "../model-pricer";
import { INCLUDED_TIER_INDEX, type TierCrossing, type TierPosition } from "../types";

/**
 * Free (included) units, consumed before the model sees any quantity:
 * model quantity = max(q − included, 0). Tier bounds on the price are in those billable units.
 *
 * Everything this step reports is on the raw scale the customer sees on their meter: the band
 * [0, included] is tier {@link INCLUDED_TIER_INDEX} (-1); passing `included` is the crossing
 * "-1 → 0"; the model's bounds and thresholds are shifted up by `included`.
 */
export class IncludedUnitsStep implements ModelPricer {
  constructor(
    private readonly inner: ModelPricer,
    private readonly included: Decimal,
  ) {}

  private billable(quantity: Decimal): Decimal {
    return quantity.lte(this.included) ? ZERO : quantity.minus(this.included);
  }

  amount(quantity: Decimal): Decimal {
    return this.inner.amount(this.billable(quantity));
  }

  increment(from: Decimal, to: Decimal): Decimal {
    return this.inner.increment(this.billable(from), this.billable(to));
  }

  total(quantity: Decimal): DraftAmount {
    const inner = this.inner.total(this.billable(quantity));
    const included: LineDraft = {
      ref: "included",
      kind: "included",
      tierIndex: INCLUDED_TIER_INDEX,
      lowerBound: ZERO,
      upperBound: this.included,
      quantity: quantity.lte(this.included) ? quantity : this.included,
      unitAmount: ZERO,
      flatAmount: ZERO,
      subtotal: ZERO,
    };
    return { amount: inner.amount, lines: [included, ...inner.lines.map((line) => this.shiftLine(line))] };
  }

  position(quantity: Decimal): TierPosition {
    if (quantity.lte(this.included)) {
      return {
        tierIndex: INCLUDED_TIER_INDEX,
        lowerBound: ZERO,
        upperBound: this.included,
        nextThreshold: this.included,
        unitsToNextThreshold: this.included.minus(quantity),
      };
    }
    const p = this.inner.position(quantity.minus(this.included));
    return {
      tierIndex: p.tierIndex,
      lowerBound: p.lowerBound.plus(this.included),
      upperBound: this.shift(p.upperBound),
      nextThreshold: this.shift(p.nextThreshold),
      unitsToNextThreshold: p.unitsToNextThreshold,
    };
  }

  crossings(from: Decimal, to: Decimal): TierCrossing[] {
    const inner = this.inner
      .crossings(this.billable(from), this.billable(to))
      .map((c) => ({ ...c, threshold: c.threshold.plus(this.included) }));
    const wasIncluded = from.lte(this.included);
    const isIncluded = to.lte(this.included);
    if (wasIncluded && !isIncluded) {
      inner.unshift({ fromTier: INCLUDED_TIER_INDEX, toTier: 0, threshold: this.included, direction: "up" });
    } else if (!wasIncluded && isIncluded) {
      inner.push({ fromTier: 0, toTier: INCLUDED_TIER_INDEX, threshold: this.included, direction: "down" });
    }
    return inner;
  }

  private shift(bound: Decimal | null): Decimal | null {
    return bound === null ? null : bound.plus(this.included);
  }

  private shiftLine(line: LineDraft): LineDraft {
    if (line.lowerBound === undefined && line.upperBound === undefined) return line;
    return {
      ...line,
      ...(line.lowerBound !== undefined && { lowerBound: line.lowerBound.plus(this.included) }),
      ...(line.upperBound !== undefined && { upperBound: this.shift(line.upperBound) }),
    };
  }
}
