import { ZERO, type Decimal } from "../decimal";
import type { DraftAmount, LineDraft } from "../model-pricer";
import type { Tier } from "../types";
import type { TierTable } from "./tier-table";
import { TieredPricer } from "./tiered-pricer";

/**
 * Graduated tiers: each unit is priced at the tier it falls in, and each tier's flat amount is
 * charged once usage enters that tier (quantity > its lower bound). At zero usage no tier has been
 * entered, so a flat first tier is NOT charged: amount(0) = 0 (charge-at-zero is what `minimum`
 * and `flat_fee` are for).
 *
 * amount(q) for q in tier t = entry[t] + (q − lower[t]) × unit[t], where entry[t] (everything
 * charged for tiers before t, plus t's flat amount) is precomputed, so a lookup is one search,
 * one subtraction, one multiplication and one addition.
 */
export class GraduatedPricer extends TieredPricer {
  private readonly entry: readonly Decimal[];

  constructor(tiers: readonly Tier[]) {
    super(tiers);
    const table = this.table;
    const entry: Decimal[] = [];
    let completed = ZERO; // amount at the upper bound of the previous tier
    for (let i = 0; i <= table.last; i++) {
      entry.push(completed.plus(table.flatOf(i)));
      const upper = table.upperOf(i);
      if (upper !== null) {
        completed = completed.plus(upper.minus(table.lowerOf(i)).times(table.unitOf(i))).plus(table.flatOf(i));
      }
    }
    this.entry = entry;
  }

  override total(quantity: Decimal): DraftAmount {
    const t = this.table;
    if (quantity.isZero()) {
      return { amount: ZERO, lines: [tierLine(t, 0, ZERO, ZERO)] };
    }
    const last = t.indexOf(quantity);
    const lines: LineDraft[] = [];
    let amount = ZERO;
    for (let i = 0; i <= last; i++) {
      const upper = i < last ? (t.upperOf(i) as Decimal) : quantity;
      const line = tierLine(t, i, upper.minus(t.lowerOf(i)), t.flatOf(i));
      amount = amount.plus(line.subtotal);
      lines.push(line);
    }
    return { amount, lines };
  }

  protected amountIn(index: number, quantity: Decimal): Decimal {
    return quantity.minus(this.table.lowerOf(index)).times(this.table.unitOf(index)).plus(this.entry[index] as Decimal);
  }
}

function tierLine(t: TierTable, index: number, quantity: Decimal, flat: Decimal): LineDraft {
  const unitAmount = t.unitOf(index);
  return {
    ref: `tier:${index}`,
    kind: "graduated_tier",
    tierIndex: index,
    lowerBound: t.lowerOf(index),
    upperBound: t.upperOf(index),
    quantity,
    unitAmount,
    flatAmount: flat,
    subtotal: quantity.times(unitAmount).plus(flat),
  };
}
