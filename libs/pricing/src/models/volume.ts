import { ZERO, type Decimal } from "../decimal";
import type { DraftAmount, LineDraft, ModelPricer } from "../model-pricer";
import type { Tier, TierCrossing, TierPosition } from "../types";
import { TierTable } from "./tier-table";

/**
 * Volume tiers: ALL units are priced at the tier the total falls in, plus that tier's flat amount:
 * amount(q) = q × unit[t] + flat[t]. The total is therefore not monotonic: crossing into a
 * cheaper tier can lower it (e.g. 100 × 0.10 = 10, but 101 × 0.08 = 8.08), and `increment`
 * returns that negative change. That is the model working as sold, not a bug.
 *
 * At zero usage no tier applies and the amount is 0 (a flat first tier is not charged).
 */
export class VolumePricer implements ModelPricer {
  private readonly table: TierTable;

  constructor(tiers: readonly Tier[]) {
    this.table = new TierTable(tiers);
  }

  amount(quantity: Decimal): Decimal {
    if (quantity.isZero()) return ZERO;
    return this.amountIn(this.table.indexOf(quantity), quantity);
  }

  increment(from: Decimal, to: Decimal): Decimal {
    if (from.isZero()) return this.amount(to);
    if (to.isZero()) return this.amount(from).neg();
    const a = this.table.indexOf(from);
    const b = this.table.indexOf(to);
    if (a === b) return to.minus(from).times(this.table.unitOf(a));
    // Tier change: every unit is repriced, so this is the full difference of the two totals.
    return this.amountIn(b, to).minus(this.amountIn(a, from));
  }

  total(quantity: Decimal): DraftAmount {
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

  position(quantity: Decimal): TierPosition {
    return this.table.position(quantity);
  }

  crossings(from: Decimal, to: Decimal): TierCrossing[] {
    return this.table.crossings(from, to);
  }

  private amountIn(index: number, quantity: Decimal): Decimal {
    return quantity.times(this.table.unitOf(index)).plus(this.table.flatOf(index));
  }
}
