import { ZERO, type Decimal } from "../decimal";
import type { DraftAmount, ModelPricer } from "../model-pricer";
import type { TierCrossing, TierPosition } from "../types";
import { singleBandPosition } from "./tier-table";

/** Per unit: amount(q) = q × unitAmount. One band, no thresholds. */
export class PerUnitPricer implements ModelPricer {
  constructor(private readonly unitAmount: Decimal) {}

  amount(quantity: Decimal): Decimal {
    return quantity.times(this.unitAmount);
  }

  increment(from: Decimal, to: Decimal): Decimal {
    return to.minus(from).times(this.unitAmount);
  }

  total(quantity: Decimal): DraftAmount {
    const subtotal = quantity.times(this.unitAmount);
    return {
      amount: subtotal,
      lines: [{ ref: "per_unit", kind: "per_unit", quantity, unitAmount: this.unitAmount, flatAmount: ZERO, subtotal }],
    };
  }

  position(): TierPosition {
    return singleBandPosition();
  }

  crossings(): TierCrossing[] {
    return [];
  }
}
