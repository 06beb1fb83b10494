import { ZERO, type Decimal } from "../decimal";
import type { DraftAmount, ModelPricer } from "../model-pricer";
import type { Tier, TierCrossing, TierPosition } from "../types";
import { TierTable } from "./tier-table";

/**
 * What graduated and volume tiers share: find the tier, then price inside it. Subclasses say only
 * how a quantity is priced within a tier (`amountIn`) and how it is explained (`total`).
 */
export abstract class TieredPricer implements ModelPricer {
  protected readonly table: TierTable;

  constructor(tiers: readonly Tier[]) {
    this.table = new TierTable(tiers);
  }

  /** The amount for `quantity`, known to fall in tier `index`. */
  protected abstract amountIn(index: number, quantity: Decimal): Decimal;

  abstract total(quantity: Decimal): DraftAmount;

  amount(quantity: Decimal): Decimal {
    if (quantity.isZero()) return ZERO;
    return this.amountIn(this.table.indexOf(quantity), quantity);
  }

  increment(from: Decimal, to: Decimal): Decimal {
    if (from.isZero()) return this.amount(to);
    if (to.isZero()) return this.amount(from).neg();
    const a = this.table.indexOf(from);
    const b = this.table.indexOf(to);
    // Same tier (the common case on every event): only the units between, at that tier's unit price.
    if (a === b) return to.minus(from).times(this.table.unitOf(a));
    return this.amountIn(b, to).minus(this.amountIn(a, from));
  }

  position(quantity: Decimal): TierPosition {
    return this.table.position(quantity);
  }

  crossings(from: Decimal, to: Decimal): TierCrossing[] {
    return this.table.crossings(from, to);
  }
}
