import { ONE, ZERO, type Decimal } from "../decimal";
import type { DraftAmount, ModelPricer } from "../model-pricer";
import type { TierCrossing, TierPosition } from "../types";
import { singleBandPosition } from "./tier-table";

/**
 * Package: packageAmount per block of packageSize units, a started block counts in full
 * (ceil(q / size)); 0 units = 0 blocks. increment(q0, q1) = (blocks(q1) − blocks(q0)) × amount:
 * it is non-zero only on events that start a new block.
 *
 * Block boundaries are not tier thresholds: the model has one band and `crossings` is empty, so
 * that a huge jump never lists millions of boundaries.
 */
export class PackagePricer implements ModelPricer {
  constructor(
    private readonly packageSize: Decimal,
    private readonly packageAmount: Decimal,
  ) {}

  /** ceil(q / size) with exact integer division (no rounding of a long quotient). */
  blocks(quantity: Decimal): Decimal {
    const whole = quantity.divToInt(this.packageSize);
    return whole.times(this.packageSize).lt(quantity) ? whole.plus(ONE) : whole;
  }

  amount(quantity: Decimal): Decimal {
    return this.blocks(quantity).times(this.packageAmount);
  }

  increment(from: Decimal, to: Decimal): Decimal {
    return this.blocks(to).minus(this.blocks(from)).times(this.packageAmount);
  }

  total(quantity: Decimal): DraftAmount {
    const blocks = this.blocks(quantity);
    const subtotal = blocks.times(this.packageAmount);
    return {
      amount: subtotal,
      lines: [
        {
          ref: "package",
          kind: "package",
          quantity: blocks,
          unitAmount: this.packageAmount,
          flatAmount: ZERO,
          subtotal,
          units: quantity,
          packageSize: this.packageSize,
        },
      ],
    };
  }

  position(): TierPosition {
    return singleBandPosition();
  }

  crossings(): TierCrossing[] {
    return [];
  }
}
