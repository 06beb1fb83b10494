import { ZERO, type Decimal } from "../decimal";
import type { DraftAmount, LineDraft } from "../model-pricer";
import { TieredPricer } from "./tiered-pricer";

/**
 * Volume tiers: ALL units are priced at the tier the total falls in, plus that tier's flat amount:
 * amount(q) = q × unit[t] + flat[t]. The total is therefore not monotonic: crossing into a
 * cheaper tier can lower it (e.g. 100 × 0.10 = 10, but 101 × 0.08 = 8.08), and `increment`
 * returns that negative change. That is the model working as sold, not a bug.
 *
 * At zero usage no tier applies and the amount is 0 (a flat first tier is not charged).
 */
export class VolumePricer extends TieredPricer {
  override total(quantity: Decimal): DraftAmount {
    const t = this.table;
    const index = t.indexOf(quantity);
    const flat = quantity.isZero() ? ZERO : t.flatOf(index);
    const unitAmount = t.unitOf(index);
    const subtotal = quantity.times(unitAmount).plus(flat);
    const line: LineDraft = {
      ref: `tier:${index}`,
      kind: "volume_tier",
      tierIndex: index,
      lowerBound: t.lowerOf(index),
      upperBound: t.upperOf(index),
      quantity,
      unitAmount,
      flatAmount: flat,
      subtotal,
    };
    return { amount: subtotal, lines: [line] };
  }

  // A tier change reprices every unit, so increments across tiers are the full difference of totals.
  protected amountIn(index: number, quantity: Decimal): Decimal {
    return quantity.times(this.table.unitOf(index)).plus(this.table.flatOf(index));
  }
}
