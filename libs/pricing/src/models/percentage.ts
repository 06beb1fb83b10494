import { ZERO, type Decimal } from "../decimal";
import type { DraftAmount, ModelPricer } from "../model-pricer";
import type { TierCrossing, TierPosition } from "../types";
import { singleBandPosition } from "./tier-table";

/**
 * Percentage / dynamic: the quantity is a summed monetary property (e.g. the model cost an event
 * reported) and the charge is quantity × rate. `rate` is a plain multiplier: 1.3 resells cost
 * at +30 %, 0.025 takes 2.5 %.
 */
export class PercentagePricer implements ModelPricer {
  constructor(private readonly rate: Decimal) {}

  amount(quantity: Decimal): Decimal {
    return quantity.times(this.rate);
  }

  increment(from: Decimal, to: Decimal): Decimal {
    return to.minus(from).times(this.rate);
  }

  total(quantity: Decimal): DraftAmount {
    const subtotal = quantity.times(this.rate);
    return {
      amount: subtotal,
      lines: [{ ref: "percentage", kind: "percentage", quantity, unitAmount: this.rate, flatAmount: ZERO, subtotal }],
    };
  }

  position(): TierPosition {
    return singleBandPosition();
  }

  crossings(): TierCrossing[] {
    return [];
  }
}
