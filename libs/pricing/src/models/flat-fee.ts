import { ONE, ZERO, type Decimal } from "../decimal";
import type { DraftAmount, ModelPricer } from "../model-pricer";
import type { TierCrossing, TierPosition } from "../types";
import { singleBandPosition } from "./tier-table";

/**
 * Flat fee: a recurring amount per period, whatever the usage (including none). amount(q) is the
 * fee, so increments are always 0 and amount(0) = fee. Its line is "1 × fee".
 */
export class FlatFeePricer implements ModelPricer {
  constructor(private readonly fee: Decimal) {}

  amount(): Decimal {
    return this.fee;
  }

  increment(): Decimal {
    return ZERO;
  }

  total(): DraftAmount {
    return {
      amount: this.fee,
      lines: [{ ref: "flat_fee", kind: "flat_fee", quantity: ONE, unitAmount: this.fee, flatAmount: ZERO, subtotal: this.fee }],
    };
  }

  position(): TierPosition {
    return singleBandPosition();
  }

  crossings(): TierCrossing[] {
    return [];
  }
}
