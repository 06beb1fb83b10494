import { ZERO, type Decimal } from "../decimal";
import type { DraftAmount, ModelPricer } from "../model-pricer";
import type { TierCrossing, TierPosition } from "../types";
import { formatDecimal } from "../describe-line";
import { singleBandPosition } from "./tier-table";

/**
 * What a dimension value with no price and no default gets: it charges 0 but still reports the
 * usage, as an "unpriced" line, so the gap is visible on the invoice draft instead of pricing
 * throwing in the middle of rating.
 */
export class UnpricedPricer implements ModelPricer {
  amount(): Decimal {
    return ZERO;
  }

  increment(): Decimal {
    return ZERO;
  }

  total(quantity: Decimal): DraftAmount {
    return {
      amount: ZERO,
      lines: [
        {
          ref: "unpriced",
          kind: "unpriced",
          quantity,
          unitAmount: ZERO,
          flatAmount: ZERO,
          subtotal: ZERO,
          description: `No price for this value and no default price: ${formatDecimal(quantity)} not charged`,
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
